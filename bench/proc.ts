/** Process statistics from Linux's /proc, for the benchmarks' reports. */
import { readdirSync, readFileSync } from "node:fs";

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

/** cpuSeconds, or 0 where it cannot be read (no /proc, pid 0, or the process is gone). */
export function cpuSecondsOr0(pid: number): number {
  if (pid === 0) return 0;
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}

/** The pid of a local mariadbd or mysqld, or 0 if there is none (a remote database). */
export function localDbPid(): number {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
        if (comm === "mariadbd" || comm === "mysqld") return Number(entry);
      } catch {
        // the process ended while we looked
      }
    }
  } catch {
    // no /proc
  }
  return 0;
}

/** The machine's idle CPU seconds so far, all cores together (/proc/stat's idle + iowait). */
export function idleSeconds(): number {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]?.split(/\s+/) ?? [];
    return (Number(cpu[4] ?? 0) + Number(cpu[5] ?? 0)) / 100;
  } catch {
    return 0;
  }
}
