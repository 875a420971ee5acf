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
