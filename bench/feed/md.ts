// Markdown tables and number formats shared by the printed report's sections.

export const f1 = (v: number | undefined) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(1) : "-");
export const f2 = (v: number | undefined) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(2) : "-");
export const n0 = (v: number | undefined) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v).toLocaleString("en") : "-");
export const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
export const table = (head: string[], rows: (string | number)[][]) =>
  [row(head), row(head.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(row)].join("\n");

/** Bytes as B, KiB, MiB or GiB. */
export function bytes(b: number | undefined): string {
  if (typeof b !== "number" || !Number.isFinite(b)) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
