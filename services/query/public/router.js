// Which view the path asks for: `/topics/{topic}`, `/claims/{claimId}`, `/sources/{sourceId}`, else
// the topics list.
import { claimView } from './claim-view.js';
import { showLiveStatus } from './live-feed.js';
import { showError } from './show-error.js';
import { sourceView } from './source-view.js';
import { state } from './state.js';
import { topicView } from './topic-view.js';
import { topicsView } from './topics-view.js';

/** Draws the view of the current path; `body[data-ready]` tells tests and readers it is done. */
export async function route() {
  state.refresh = null;
  for (const c of state.charts) c.destroy();
  state.charts = [];
  const path = location.pathname;
  try {
    let m;
    if ((m = /^\/topics\/([^/]+)\/?$/.exec(path))) await topicView(decodeURIComponent(m[1]));
    else if ((m = /^\/claims\/([^/]+)\/?$/.exec(path))) await claimView(decodeURIComponent(m[1]));
    else if ((m = /^\/sources\/([^/]+)\/?$/.exec(path))) await sourceView(decodeURIComponent(m[1]));
    else await topicsView();
  } catch (err) {
    showError(err);
  }
  showLiveStatus();
  document.body.dataset.ready = 'true';
}
