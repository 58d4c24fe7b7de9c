// The view at `/`: every topic with its metrics, each linking to the topic's charts.
import { getTopics } from './api.js';
import { h, replace } from './dom.js';
import { metricSummaryText, topicTitle } from './format.js';
import { main, readParams, readQuery, state } from './state.js';

export async function topicsView() {
  state.refresh = topicsView;
  document.title = 'claimtrail: topics';
  const t = await getTopics(readParams());
  state.shownSeq = t.asOfSeq;
  replace(
    main,
    h('h1', {}, 'Topics'),
    t.topics.length === 0 ? h('p', {}, 'Nothing recorded yet.') : null,
    h(
      'ul',
      { class: 'topics' },
      t.topics.map((topic) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `/topics/${encodeURIComponent(topic.topic)}${readQuery()}`, class: 'topic-link' },
            topicTitle(topic),
          ),
          h(
            'ul',
            { class: 'metric-list' },
            topic.metrics.map((m) => h('li', {}, metricSummaryText(m))),
          ),
        ),
      ),
    ),
  );
}
