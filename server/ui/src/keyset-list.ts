/**
 * A list read page after page through a keyset-paged listing (ListJobs by id, ListRuns newest
 * fire time first), kept up to date without reading every page again. The Jobs page's list
 * (job-list.ts) and a job's run history (components/RunHistory.tsx) are such lists.
 *
 * The rows are in the listing's order (`compare`), and a row's place in it never changes (a job's
 * id, a run's fire time and id). A page token continues after the last row of the page that gave
 * it, so each read answers for a range of the order: a page read after row `a` (the start of the
 * list for the first page) and ending with row `b` holds every row between `a` and `b` as it is
 * now, and the last page (no next token) every row after `a`. A read replaces the rows of its
 * range and keeps the others, so a row added or removed between two reads is neither shown twice
 * nor lost, whatever the order in which reads complete.
 *
 * - The timer reads the first page only: one call per cycle however many pages are shown. New
 *   rows among the first page's appear, removed ones go, and a row pushed out of the first page
 *   stays shown as last read.
 * - **More** reads the page after the last row shown.
 * - **Refresh** reads every row shown again, in pages of up to 1,000 (the API's largest): 1,250
 *   rows cost two calls.
 */
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";

/** The largest page the API returns (METRONOME_MAX_PAGE_SIZE may make it smaller: pages then come shorter). */
const LARGEST_PAGE = 1000;

/** A page of the listing: its rows, and the token of the next page ("" after the last). */
export interface KeysetPage<T> {
  readonly rows: readonly T[];
  readonly nextPageToken: string;
}

export interface KeysetListing<T> {
  /** Rows per page read by the timer and by **More**. */
  readonly pageSize: number;
  /** Reads the page of `pageToken` ("" for the first); throws the API's error. */
  readonly read: (pageToken: string, pageSize: number) => Promise<KeysetPage<T>>;
  /** Below zero when `a` comes before `b` in the listing's order, zero for the same place. */
  readonly compare: (a: T, b: T) => number;
}

/** What the page shows. */
export interface KeysetListView<T> {
  /** Whether the first page was read at least once. */
  readonly loaded: boolean;
  readonly rows: readonly T[];
  /** Whether **More** has a next page to read. */
  readonly hasMore: boolean;
  readonly loadingMore: boolean;
  readonly refreshing: boolean;
  /** When the rows past the first page were read (the oldest such read); undefined when none is shown. */
  readonly restReadAt: Timestamp | undefined;
  /** The error of the last **More** or **Refresh**, until one succeeds. */
  readonly error: unknown;
}

/**
 * The rows after a read of the rows following `after` (undefined: the start of the list): the
 * rows up to `after`, the rows read, then the rows after the last row read, unless the read
 * reached the end of the list (`toEnd`). A read of no row answers for nothing but when it reached
 * the end.
 */
export function mergeRange<T>(
  rows: readonly T[],
  after: T | undefined,
  read: readonly T[],
  toEnd: boolean,
  compare: (a: T, b: T) => number,
): T[] {
  const last = read.at(-1) ?? after;
  return [
    ...(after === undefined ? [] : rows.filter((r) => compare(r, after) <= 0)),
    ...read,
    ...(toEnd ? [] : last === undefined ? rows : rows.filter((r) => compare(r, last) > 0)),
  ];
}

function now(): Timestamp {
  return timestampFromDate(new Date());
}

/** Where **More** reads next: `token` continues after the row `after`; "" when the list ended there. */
interface Cursor<T> {
  readonly token: string;
  readonly after: T | undefined;
}

/** One list; the page subscribes to its view. */
export class KeysetList<T> {
  readonly #listing: KeysetListing<T>;
  #rows: T[] = [];
  #cursor: Cursor<T> = { token: "", after: undefined };
  #loaded = false;
  #loadingMore = false;
  #refreshing = false;
  #restReadAt: Timestamp | undefined;
  /** When the read last put in place was made. */
  #lastReadAt: Timestamp | undefined;
  #error: unknown;
  #view: KeysetListView<T>;
  readonly #listeners = new Set<() => void>();

  constructor(listing: KeysetListing<T>) {
    this.#listing = listing;
    this.#view = this.#makeView();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  readonly getView = (): KeysetListView<T> => this.#view;

  /** Reads the first page again (the timer's call); throws the API's error. */
  async refreshFirstPage(): Promise<KeysetListView<T>> {
    const readAt = now();
    const page = await this.#listing.read("", this.#listing.pageSize);
    this.#loaded = true;
    this.#apply(undefined, page, readAt);
    return this.#view;
  }

  /** Reads the page after the last row shown. */
  async more(): Promise<void> {
    const { token, after } = this.#cursor;
    if (token === "" || this.#loadingMore || this.#refreshing) return;
    this.#loadingMore = true;
    this.#changed();
    try {
      const readAt = now();
      const page = await this.#listing.read(token, this.#listing.pageSize);
      this.#error = undefined;
      this.#apply(after, page, readAt);
    } catch (err) {
      this.#error = err;
    } finally {
      this.#loadingMore = false;
      this.#changed();
    }
  }

  /** Reads every row shown again, from the start of the list to the last row shown. */
  async refresh(): Promise<void> {
    if (this.#loadingMore || this.#refreshing) return;
    this.#refreshing = true;
    this.#changed();
    const { pageSize, compare } = this.#listing;
    const end = this.#rows.at(-1);
    const readAt = now();
    try {
      let token = "";
      let after: T | undefined;
      for (;;) {
        const from = after;
        const shown = this.#rows.filter(
          (r) =>
            (from === undefined || compare(r, from) > 0) &&
            (end === undefined || compare(r, end) <= 0),
        ).length;
        const page = await this.#listing.read(
          token,
          Math.min(LARGEST_PAGE, Math.max(pageSize, shown)),
        );
        this.#apply(after, page, readAt);
        after = page.rows.at(-1) ?? after;
        token = page.nextPageToken;
        if (token === "" || end === undefined || (after !== undefined && compare(after, end) >= 0))
          break;
      }
      this.#loaded = true;
      this.#error = undefined;
      this.#restReadAt = this.#rows.length > pageSize ? readAt : undefined;
    } catch (err) {
      this.#error = err;
    } finally {
      this.#refreshing = false;
      this.#changed();
    }
  }

  /** Replaces the first row shown that `match`es by `row` (undefined: removes it); none shown, nothing. */
  replace(match: (row: T) => boolean, row: T | undefined): void {
    const i = this.#rows.findIndex(match);
    if (i < 0) return;
    this.#rows = row === undefined ? this.#rows.toSpliced(i, 1) : this.#rows.with(i, row);
    this.#changed();
  }

  /** Whether `a` is at or before `b` (undefined: the start of the list). */
  #notAfter(a: T | undefined, b: T | undefined): boolean {
    return a === undefined || (b !== undefined && this.#listing.compare(a, b) <= 0);
  }

  /** Puts a read of the rows after `after` in place, and moves the cursor if it read further. */
  #apply(after: T | undefined, page: KeysetPage<T>, readAt: Timestamp): void {
    const { compare, pageSize } = this.#listing;
    const toEnd = page.nextPageToken === "";
    const last = page.rows.at(-1);
    this.#rows = mergeRange(this.#rows, after, page.rows, toEnd, compare);
    if (toEnd) {
      // Nothing follows the last row: the list is whole.
      this.#cursor = { token: "", after: this.#rows.at(-1) };
    } else if (last !== undefined) {
      // The read that reached furthest says where the next page starts.
      if (this.#notAfter(this.#cursor.after, last))
        this.#cursor = { token: page.nextPageToken, after: last };
    } else if (this.#notAfter(this.#cursor.after, after)) {
      // An empty page that is not the last: the next one starts past it, after no new row.
      this.#cursor = { token: page.nextPageToken, after: this.#cursor.after };
    }
    // Rows past the first page come from this read or an earlier one: the earlier is said.
    if (this.#rows.length <= pageSize) this.#restReadAt = undefined;
    else this.#restReadAt ??= this.#lastReadAt ?? readAt;
    this.#lastReadAt = readAt;
    this.#changed();
  }

  #makeView(): KeysetListView<T> {
    return {
      loaded: this.#loaded,
      rows: this.#rows,
      hasMore: this.#cursor.token !== "",
      loadingMore: this.#loadingMore,
      refreshing: this.#refreshing,
      restReadAt: this.#restReadAt,
      error: this.#error,
    };
  }

  #changed(): void {
    this.#view = this.#makeView();
    for (const listener of this.#listeners) listener();
  }
}

/**
 * The lists read lately, by key, the most recent last: back on a page, the pages read with
 * **More** are still there. Up to `kept` lists are kept.
 */
export class RecentLists<L> {
  readonly #lists = new Map<string, L>();
  readonly #kept: number;

  constructor(kept: number) {
    this.#kept = kept;
  }

  /** The list of `key`: the one read lately, or a new one (`make`). */
  get(key: string, make: () => L): L {
    const list = this.#lists.get(key) ?? make();
    this.#lists.delete(key);
    this.#lists.set(key, list);
    for (const old of this.#lists.keys()) {
      if (this.#lists.size <= this.#kept) break;
      this.#lists.delete(old);
    }
    return list;
  }

  values(): IterableIterator<L> {
    return this.#lists.values();
  }
}
