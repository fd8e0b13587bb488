/**
 * Reading only the written parts of a large sparse file (a sized volume's image), so a test can
 * search a 200 GiB image without reading 200 GiB of holes. The extents come from `filefrag -v -s`
 * (e2fsprogs; FIEMAP after syncing the file).
 */
import { execFileSync } from "node:child_process";
import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";

function which(program: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"]) {
    try {
      accessSync(`${dir}/${program}`, constants.X_OK);
      return `${dir}/${program}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** [offset, length] byte ranges of the file that hold data. */
export function dataRanges(file: string): [number, number][] {
  const filefrag = which("filefrag");
  if (!filefrag) throw new Error("filefrag (e2fsprogs) is needed to read a sparse file's extents");
  const out = execFileSync(filefrag, ["-v", "-s", file], { encoding: "utf8" });
  const bs = Number(/blocks of (\d+) bytes/.exec(out)?.[1]);
  if (!bs) throw new Error(`unexpected filefrag output: ${out}`);
  const size = statSync(file).size;
  const ranges: [number, number][] = [];
  for (const m of out.matchAll(/^\s*\d+:\s+(\d+)\.\.\s*(\d+):/gm)) {
    const start = Number(m[1]) * bs;
    const end = Math.min((Number(m[2]) + 1) * bs, size);
    if (end > start) ranges.push([start, end - start]);
  }
  return ranges;
}

/** Whether needle occurs in the data of the file (needles spanning two extents are missed only at a hole). */
export function sparseFileIncludes(file: string, needle: Buffer): boolean {
  const fd = openSync(file, "r");
  try {
    const chunk = 16 * 1024 * 1024;
    for (const [offset, length] of dataRanges(file)) {
      for (let o = offset; o < offset + length; o += chunk - needle.length) {
        const buf = Buffer.alloc(Math.min(chunk, offset + length - o));
        const n = readSync(fd, buf, 0, buf.length, o);
        if (buf.subarray(0, n).includes(needle)) return true;
        if (o + n >= offset + length) break;
      }
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Bytes of real disk the file occupies (st_blocks × 512). */
export function diskUsage(file: string): number {
  return statSync(file).blocks * 512;
}
