/**
 * The issue rules, as one list of small functions over a shared context.
 * Each rule returns zero or more issues with a stable code and a message that
 * says what is wrong, the numbers, and what to do about it.
 */
import type { Severity } from '../../../schemas/common.js';
import type { Issue } from '../../../schemas/vis.js';
import type { IssueContext } from './issue-kit.js';
import { indexRules } from './issues-index.js';
import { integrityRules } from './issues-integrity.js';
import { pictureRules } from './issues-picture.js';

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Runs every rule; errors first, then warnings, then info, rule order within a severity. Pure, never throws. */
export function findIssues(ctx: IssueContext): Issue[] {
  const all = [...integrityRules, ...pictureRules, ...indexRules].flatMap((rule) => rule(ctx));
  return all
    .map((iss, i) => ({ iss, i }))
    .sort((a, b) => SEVERITY_ORDER[a.iss.severity] - SEVERITY_ORDER[b.iss.severity] || a.i - b.i)
    .map(({ iss }) => iss);
}

/** 'errors' if any error, else 'warnings' if any warning, else 'ok'. */
export function verdictOf(issues: Issue[]): 'ok' | 'warnings' | 'errors' {
  if (issues.some((i) => i.severity === 'error')) return 'errors';
  if (issues.some((i) => i.severity === 'warning')) return 'warnings';
  return 'ok';
}
