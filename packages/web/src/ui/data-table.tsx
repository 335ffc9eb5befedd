/**
 * The admin pages' tables (accounts, rooms, bots, webhooks, nodes, errors): a heading row, one row
 * per item, and the words for "loading" and "nothing here" instead of an empty table. On a narrow
 * screen the table scrolls sideways rather than squeezing its columns.
 */
import { Fragment, type ReactNode } from 'react';
import './data-table.css';

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** The heading is for screen readers only (a column of buttons). */
  hideHeader?: boolean;
  /** This column names the row: a `<th scope="row">`, which is what assistive technology reads out first. */
  rowHeader?: boolean;
  /** `num`: right-aligned (numbers, and actions at the end of a row); other classes style the cells. */
  className?: string;
  /** A tooltip for the cell (the full time behind "5 min ago", an untruncated URL). */
  title?: (row: T) => string | undefined;
}

export function DataTable<T>({
  label,
  columns,
  rows,
  rowKey,
  rowData,
  empty,
  detail,
}: {
  /** The table's accessible name, when no heading names it. */
  label?: string;
  columns: readonly Column<T>[];
  /** undefined while loading. */
  rows: readonly T[] | undefined;
  rowKey: (row: T) => string;
  /** `data-*` attributes of a row, for finding it again (tests, styles). */
  rowData?: (row: T) => Record<`data-${string}`, string>;
  /** Shown instead of an empty table. */
  empty: string;
  /** What opens under a row across the whole table (a webhook's deliveries), and its element id. */
  detail?: (row: T) => { id: string; content: ReactNode } | undefined;
}) {
  if (rows === undefined) return <p className="hint">Loading…</p>;
  if (rows.length === 0) return <p className="hint">{empty}</p>;
  return (
    <div className="table-scroll">
      <table className="data-table" aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" className={c.className}>
                {c.hideHeader ? <span className="sr-only">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const opened = detail?.(row);
            return (
              <Fragment key={rowKey(row)}>
                <tr {...rowData?.(row)}>
                  {columns.map((c) =>
                    c.rowHeader ? (
                      <th key={c.header} scope="row" className={c.className} title={c.title?.(row)}>
                        {c.cell(row)}
                      </th>
                    ) : (
                      <td key={c.header} className={c.className} title={c.title?.(row)}>
                        {c.cell(row)}
                      </td>
                    ),
                  )}
                </tr>
                {opened && (
                  <tr className="detail-row" id={opened.id}>
                    <td colSpan={columns.length}>{opened.content}</td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
