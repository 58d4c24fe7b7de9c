// The claimtrail page: topics, a topic's charts with the "known on" slider, and a claim's story.
// No build step: plain ES modules served by the query service, one a job (docs/web-page.md).
// This one starts the page: the view of the path, the live feed, and the redraws they need.
import { connectLive } from './live-feed.js';
import { route } from './router.js';
import { state } from './state.js';
import { TOKEN_ENTERED } from './token-prompt.js';

document.addEventListener(TOKEN_ENTERED, () => {
  void route();
  connectLive();
});

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => state.charts.forEach((c) => c.resize()), 100);
});

connectLive();
void route();
