/** `continue` of every list response; subclasses add their typed `items`. */
export abstract class PageDto {
  /** Present when more items exist: pass it as `continue`, with the same filters, to get the next page. */
  continue?: string;
}
