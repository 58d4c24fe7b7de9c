// The form that asks for a read token; a wrong one brings it back with the server's reason.
import { readToken, saveToken } from './api.js';
import { h, replace } from './dom.js';
import { main } from './state.js';

/** Dispatched on `document` when a token was entered: the page then reads again with it. */
export const TOKEN_ENTERED = 'claimtrail:token-entered';

export function askForToken(reason) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'token',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      'aria-describedby': 'token-why',
    })
  );
  const form = h(
    'form',
    { class: 'token' },
    h('h1', {}, 'A read token is needed'),
    h(
      'p',
      { id: 'token-why' },
      readToken()
        ? `The token was refused: ${reason}.`
        : 'This claimtrail serves its data to holders of a token with the read scope.',
    ),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Show the data'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    saveToken(input.value.trim());
    document.dispatchEvent(new Event(TOKEN_ENTERED));
  });
  replace(main, form);
  input.focus();
}
