/**
 * Suites that need something outside Node (MySQL, Python's grpc module): without it such a suite
 * is skipped, and says so. The reason travels in the suite's meta data to
 * test/support/skip-reporter.ts, which prints one line per skipped suite at the end of the run:
 * `skipped <file> › <suite>: needs …`. Under CI=true a missing requirement fails the file
 * instead (CI must never pass by skipping).
 */
import { describe } from "vitest";

declare module "vitest" {
  interface TaskMeta {
    /** Why the suite was skipped: what it needs and how to get it. */
    skippedBecause?: string;
  }
}

export interface Requirement {
  /** Whether what the suite needs is here. */
  readonly met: boolean;
  /** What it needs and how to get it, e.g. `needs MySQL/MariaDB at … (set …, or start …)`. */
  readonly needs: string;
}

/** Fails the test file under CI=true when `requirement` is not met. */
export function requireUnderCi(requirement: Requirement): void {
  if (!requirement.met && process.env.CI === "true") {
    throw new Error(`CI=true: this test file ${requirement.needs}`);
  }
}

/** `describe`, skipped with its reason when `requirement` is not met. */
export function describeIf(requirement: Requirement, name: string, body: () => void): void {
  if (requirement.met) describe(name, body);
  else describe(name, { skip: true, meta: { skippedBecause: requirement.needs } }, body);
}
