// The one way admin screens make a change: run it, reload the reference data, or say what went wrong.
import { ApiError } from '../../lib/api/client';
import { t } from '../../lib/i18n/index.svelte';
import type { Workspace } from '../../lib/state/context';

export function adminRunner({ directory, toasts }: Pick<Workspace, 'directory' | 'toasts'>) {
  return async function run(call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call();
      await directory.load();
      return true;
    } catch (error) {
      toasts.show(error instanceof ApiError ? error.message : t('admin.failed'), 'error');
      return false;
    }
  };
}

/** A refused save: the server's problem (its `code`, `detail` and the `field` at fault, when it names one). */
export type SaveProblem = { code: string; detail: string; field?: string };

/**
 * Saves a form: on success reloads the reference data and returns true; a refusal with a problem body (422
 * and friends) is handed to `show` so the form can say what is wrong next to itself; anything else is a toast.
 */
export function formRunner(workspace: Pick<Workspace, 'directory' | 'toasts'>, show: (problem: SaveProblem | null) => void) {
  return async function save(call: () => Promise<unknown>): Promise<boolean> {
    show(null);
    try {
      await call();
      await workspace.directory.load().catch(() => {});
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
        const problem = error.problem as { code: string; detail?: string; field?: string };
        show({ code: problem.code, detail: problem.detail ?? error.message, field: problem.field ?? undefined });
      } else {
        workspace.toasts.show(error instanceof ApiError ? error.message : t('admin.failed'), 'error');
      }
      return false;
    }
  };
}
