/** What a ValidationError about an indicator or a projection tells its author to do. */
export const fixDefinition = 'Fix the definition and build the projection again; no event was read.';

/** What a ValidationError about a query tells its caller to do. */
export const fixRequest = 'Fix the request and ask again; nothing was read.';
