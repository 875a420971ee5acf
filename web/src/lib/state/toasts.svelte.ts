// Short notices at the corner of the screen (a mention, a saved change, an error), read out by screen readers.

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
  href?: string;
}

export class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;

  show(text: string, kind: Toast['kind'] = 'info', href?: string, ms = 6000) {
    const id = this.#next++;
    this.items = [...this.items, { id, text, kind, href }];
    setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number) {
    this.items = this.items.filter((toast) => toast.id !== id);
  }
}
