/** The largest page, and the default, of every list that pages with limit and offset. */
export const MAX_PAGE = 1000;
/** More than any extension range can hold; keeps the value inside PostgreSQL's bigint. */
export const MAX_OFFSET = 1_000_000;
