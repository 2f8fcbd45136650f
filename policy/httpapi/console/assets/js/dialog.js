// Confirmation dialogs: a modal <dialog> with a form. It keeps the
// keyboard inside while open (Tab and Shift+Tab wrap), Escape or Cancel
// closes it, and focus goes back to the control that opened it. The
// confirm button runs the action; a refusal is shown in the dialog in
// words (role alert) and the dialog stays open to fix or cancel.

import { explain } from './api.js';
import { h, errorBox } from './dom.js';

let seq = 0;

const focusable = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

// confirmDialog opens a dialog and resolves with what run returned, or
// null when it was cancelled. run gets the form and may throw an
// ApiError, which the dialog shows.
export function confirmDialog({ title, intro, fields, confirm, danger, run }) {
  const id = 'dlg' + (++seq);
  const opener = document.activeElement;
  return new Promise((resolve) => {
    let result = null;
    const error = h('p', { class: 'error', role: 'alert', id: id + '-error', hidden: true });
    const ok = h('button', { type: 'submit', class: 'btn ' + (danger ? 'danger' : 'primary'), id: id + '-confirm' }, confirm);
    const cancel = h('button', { type: 'button', class: 'btn', id: id + '-cancel' }, 'Cancel');
    const form = h('form', { class: 'form', novalidate: true },
      h('h2', { id: id + '-title' }, title),
      intro ? h('div', { class: 'intro', id: id + '-intro' }, intro) : null,
      fields || [],
      error,
      h('div', { class: 'actions' }, ok, cancel));
    const dlg = h('dialog', { class: 'dialog', id, 'aria-labelledby': id + '-title', 'aria-describedby': intro ? id + '-intro' : null }, form);

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      ok.disabled = true;
      ok.setAttribute('aria-busy', 'true');
      try {
        result = await run(form);
        dlg.close();
      } catch (err) {
        errorBox(error, explain(err));
        ok.disabled = false;
        ok.removeAttribute('aria-busy');
        ok.focus();
      }
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); dlg.close(); });
    dlg.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return;
      const all = [...dlg.querySelectorAll(focusable)].filter((el) => !el.hidden && el.offsetParent !== null);
      if (!all.length) return;
      const first = all[0], last = all[all.length - 1];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = form.querySelector('input, select, textarea') || ok;
    first.focus();
  });
}
