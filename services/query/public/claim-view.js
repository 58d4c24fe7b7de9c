// The view at `/claims/{claimId}`: the claim as it stood, its story and the reports citing it.
import { getClaim } from './api.js';
import { h, linkOrText, replace } from './dom.js';
import { changesText, figureText, revisionWord, sourceName, spanText, valueText, when } from './format.js';
import { main, readParams, readQuery, state } from './state.js';
import { sourceLink, viaLinks } from './source-links.js';

export async function claimView(claimId) {
  const c = await getClaim(claimId, readParams());
  state.shownSeq = c.asOfSeq;
  const k = c.claim;
  document.title = `claimtrail: ${k.metric} by ${sourceName(k.source)}`;
  replace(
    main,
    h('p', {}, h('a', { href: `/topics/${encodeURIComponent(k.topic)}${readQuery()}` }, `← ${k.topic}`)),
    h('h1', {}, sourceLink(k.source), `: ${valueText(k.value)} ${k.metric}`),
    h(
      'dl',
      { class: 'claim' },
      [
        ['Status', [k.status, k.corrected ? ' (corrected)' : '']],
        k.supersededBy
          ? [
              'Superseded by',
              h(
                'a',
                { class: 'superseded-by', href: `/claims/${encodeURIComponent(k.supersededBy)}${readQuery()}` },
                k.supersededBy,
              ),
            ]
          : null,
        ['Figure', figureText(k)],
        ['Stated', k.statedAt],
        ['Describes', spanText(k.validFrom, k.validTo)],
        ['Source', [sourceLink(k.source, { class: 'source-link' }), k.source.kind ? ` (${k.source.kind})` : '']],
        ['Via', k.via.length > 0 ? viaLinks(k.via) : 'direct'],
        ['Recorded', `${when(k.recordedAt)} (seq ${k.seq})`],
        k.confidence ? ['Confidence', k.confidence] : null,
        k.likelihood ? ['Likelihood', k.likelihood] : null,
        k.note ? ['Note', k.note] : null,
      ]
        .filter((row) => row !== null)
        .flatMap(([dt, dd]) => [h('dt', {}, dt), h('dd', {}, dd)]),
    ),
    k.quote ? h('blockquote', { class: 'quote' }, k.quote) : null,
    h('h2', {}, 'Story'),
    h(
      'ol',
      { class: 'story' },
      c.revisions.map((r) =>
        h(
          'li',
          { dataset: { type: r.type } },
          h('strong', {}, revisionWord(r.type)),
          ` ${when(r.recordedAt)} by ${r.actor} (seq ${r.seq})`,
          r.changes ? h('div', { class: 'changes' }, changesText(r.changes, r.before)) : null,
          r.reason ? h('div', { class: 'reason' }, `Reason: ${r.reason}${r.by ? ` (by ${r.by})` : ''}`) : null,
        ),
      ),
    ),
    h('h2', {}, 'Reports citing it'),
    h(
      'ul',
      {},
      c.reports.map((r) =>
        h(
          'li',
          {},
          linkOrText(r.url, r.title ?? r.url),
          ` — ${r.publisher}, published ${r.publishedAt}${r.echo ? ' (an echo)' : ''}`,
          r.quote ? h('blockquote', { class: 'quote' }, r.quote) : null,
        ),
      ),
    ),
  );
  state.refresh = async () => {
    await claimView(claimId);
  };
}
