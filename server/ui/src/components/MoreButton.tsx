/** "More": reads the next page of a paged listing (a list's `nextPageToken`), while there is one. */
export interface PagedList {
  readonly hasNextPage: boolean;
  readonly isFetchingNextPage: boolean;
  fetchNextPage(): Promise<unknown>;
}

export function MoreButton({ list }: { readonly list: PagedList }) {
  if (!list.hasNextPage) return null;
  return (
    <button
      type="button"
      disabled={list.isFetchingNextPage}
      onClick={() => {
        void list.fetchNextPage();
      }}
    >
      More
    </button>
  );
}
