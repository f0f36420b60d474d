/** Process statistics from Linux's /proc, for the benchmarks' reports. */
import { readFileSync } from "node:fs";

/** CPU seconds used so far by a process (user + system: fields 14 and 15 of /proc/PID/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A process's peak resident set size in MB (VmHWM), from /proc. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}
