// Chitti console: the read-only auditor console. Vanilla JavaScript, no dependencies, no build step.
// Every call goes to the JSON API with the signed-in user's token, so the console can show and do
// exactly what the user's roles allow; it only hides what the roles would refuse anyway.

const SESSION_KEY = 'chitti-console-session';
const view = document.getElementById('view');
const statusLine = document.getElementById('status');

/** @type {{ accessToken: string, refreshToken: string, userId: string, roles: string[] } | null} */
let session = null;
/** @type {Record<string, string[]>} role -> permissions, from /console/roles.json */
let roleTable = {};
/** Bumped on every navigation: a view still loading for an old route draws nothing. */
let generation = 0;

// ---------- DOM ----------

/** Builds an element; text children are always text nodes (no HTML from data, ever). */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A section named by its heading (`<id>-title`). */
function section(id, title, ...content) {
  return h('section', { 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...content);
}

function announce(text) {
  statusLine.textContent = text;
}

/** Replaces the view; focuses its heading so keyboard and screen-reader users land on the new page. */
function show(title, ...content) {
  document.title = `${title} · Chitti console`;
  const heading = h('h1', { tabindex: '-1' }, title);
  view.replaceChildren(heading, ...content);
  heading.focus();
}

const time = (iso) =>
  iso
    ? `${iso
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
        .replace('Z', ' UTC')}`
    : '—';
const num = (value, digits = 2) => (typeof value === 'number' ? value.toFixed(digits) : '—');

// ---------- session and API ----------

function claimsOf(token) {
  const part = token.split('.')[1] ?? '';
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '=')));
}

function startSession(tokens) {
  const claims = claimsOf(tokens.accessToken);
  session = {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    userId: claims.sub,
    roles: claims.roles ?? [],
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function endSession() {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
}

/** Whether the signed-in roles grant a permission (the API decides; this only hides what it would refuse). */
function can(permission) {
  return session?.roles.some((role) => roleTable[role]?.includes(permission)) ?? false;
}

class ApiProblem extends Error {
  constructor(problem) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }
}

async function problemOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.title === 'string') return new ApiProblem(body);
  } catch {
    // not JSON: described below
  }
  return new ApiProblem({ title: response.statusText || 'Request failed', status: response.status });
}

async function refreshTokens() {
  const response = await fetch('/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: session.refreshToken }),
  });
  if (!response.ok) return false;
  startSession(await response.json());
  return true;
}

/**
 * @typedef {object} CallOptions
 * @property {string} [method]
 * @property {any} [body] JSON, or bytes (a File) when `contentType` names their type
 * @property {string} [contentType]
 * @property {boolean} [raw] answer the Response itself
 * @property {AbortSignal} [signal]
 */

/**
 * Calls the API as the signed-in user. Answers the parsed JSON, or the Response itself with
 * `raw`; a problem answer throws an ApiProblem. An expired access token is refreshed once.
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<any>}
 */
async function api(path, { method = 'GET', body, contentType, raw = false, signal } = {}) {
  if (!session) throw new ApiProblem({ title: 'Not signed in', detail: 'sign in with an API key' });
  const send = () =>
    fetch(path, {
      method,
      signal,
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: contentType ? body : JSON.stringify(body) } : {}),
    });
  let response = await send();
  if (response.status === 401 && (await refreshTokens().catch(() => false))) response = await send();
  if (response.status === 401) {
    endSession();
    route();
  }
  if (!response.ok) throw await problemOf(response);
  return raw ? response : response.json();
}

/** A problem answer (RFC 9457) as the API gave it: title, status, detail, the fields at fault. */
function problemView(error) {
  const problem =
    error instanceof ApiProblem ? error.problem : { title: 'Something went wrong', detail: String(error?.message) };
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', { class: 'problem-title' }, problem.title, problem.status ? ` (${problem.status})` : ''),
    problem.detail ? h('p', {}, problem.detail) : null,
    problem.errors?.length
      ? h(
          'ul',
          {},
          problem.errors.map((issue) => h('li', {}, h('code', {}, issue.pointer), ': ', issue.message)),
        )
      : null,
    problem.correlationId ? h('p', { class: 'muted' }, `Correlation id ${problem.correlationId}`) : null,
  );
}

/** Downloads an API answer (report, export) under the name its Content-Disposition gives. */
async function download(path, fallbackName) {
  const response = await api(path, { raw: true });
  const disposition = response.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** A button that runs an action, shows its outcome (or the problem) in `target`, and stays usable. */
function actionButton(label, action, target, attrs = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    target.replaceChildren(h('p', { class: 'muted' }, 'Working…'));
    try {
      target.replaceChildren(await action());
    } catch (error) {
      target.replaceChildren(problemView(error));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function downloadButtons(label, items) {
  const result = h('div', { class: 'download-result', 'aria-live': 'polite' });
  const buttons = items.map(({ text, path, name, id }) =>
    actionButton(text, async () => h('p', { class: 'muted' }, `Downloaded ${await download(path(), name)}`), result, {
      id,
    }),
  );
  return h('div', { class: 'downloads', role: 'group', 'aria-label': label }, buttons, result);
}

// ---------- sign in ----------

function showSignIn(message) {
  document.getElementById('sign-in-view').hidden = false;
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  document.getElementById('sign-out').hidden = true;
  view.replaceChildren(message ? problemView(message) : '');
  document.title = 'Sign in · Chitti console';
  document.getElementById('api-key').focus();
}

document.getElementById('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (document.getElementById('api-key'));
  try {
    const response = await fetch('/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: input.value.trim() }),
    });
    if (!response.ok) throw await problemOf(response);
    startSession(await response.json());
    input.value = '';
    announce('Signed in');
    route();
  } catch (error) {
    showSignIn(error);
  }
});

document.getElementById('sign-out').addEventListener('click', async () => {
  const refreshToken = session?.refreshToken;
  endSession();
  if (refreshToken) {
    await fetch('/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    }).catch(() => {});
  }
  announce('Signed out');
  location.hash = '#/search';
  route();
});

function showChrome(section) {
  document.getElementById('sign-in-view').hidden = true;
  const nav = document.getElementById('nav');
  nav.hidden = false;
  for (const link of nav.querySelectorAll('a')) {
    const needs = (link.dataset.needs ?? '').split(' ').filter(Boolean);
    link.parentElement.hidden = !needs.every(can);
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const who = document.getElementById('who');
  who.hidden = false;
  who.textContent = `${session.userId} (${session.roles.join(', ') || 'no roles'})`;
  document.getElementById('sign-out').hidden = false;
}

// ---------- search ----------

const DETECTION_FIELDS = ['q', 'className', 'minScore', 'review', 'minLengthMm'];
const INSPECTION_FIELDS = ['status', 'verdict', 'from', 'to'];

function field(label, name, value, attrs = {}) {
  const id = `f-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, value, ...attrs }));
}

function select(label, name, value, options) {
  const id = `f-${name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h(
      'select',
      { id, name },
      options.map(([optionValue, text]) => h('option', { value: optionValue, selected: optionValue === value }, text)),
    ),
  );
}

/** Puts a form's fields into the hash, so a search is a link and the back button returns to it. */
function searchForm(id, title, fields, params, names) {
  const form = h(
    'form',
    { id, class: 'search-form', 'aria-labelledby': `${id}-title` },
    fields,
    h('button', {}, title),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams(params);
    for (const name of names) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
      else next.delete(name);
    }
    next.set('run', id);
    location.hash = `#/search?${next}`;
  });
  return form;
}

const isoOf = (date, endOfDay) => (date ? `${date}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : undefined);

function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((text) => h('th', { scope: 'col' }, text)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

const inspectionLink = (id) => h('a', { href: `#/inspections/${encodeURIComponent(id)}` }, id);

function reviewText(review) {
  if (!review) return 'unreviewed';
  const verdict = review.verdict === 'relabelled' ? `relabelled as ${review.newClassName}` : review.verdict;
  return `${verdict} by ${review.reviewer}${review.at ? `, ${time(review.at)}` : ''}`;
}

function sizeText(size) {
  return size ? `${num(size.lengthMm)} × ${num(size.widthMm)} mm` : '— (no pixel spacing)';
}

async function searchView(params, mine) {
  const detectionsOut = h('div', { id: 'detection-results' });
  const inspectionsOut = h('div', { id: 'inspection-results' });
  const openForm = h(
    'form',
    { class: 'search-form', 'aria-label': 'Open an inspection by id' },
    field('Inspection id', 'inspectionId', '', { required: true, spellcheck: 'false', size: 40 }),
    h('button', {}, 'Open'),
  );
  openForm.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/inspections/${encodeURIComponent(openForm.elements.inspectionId.value.trim())}`;
  });
  const get = (name) => params.get(name) ?? '';
  show(
    'Search',
    section(
      'detections',
      'Detections',
      searchForm(
        'detections',
        'Search detections',
        [
          field('File name or tag', 'q', get('q'), { type: 'search' }),
          field('Class', 'className', get('className'), { placeholder: 'e.g. porosity' }),
          field('Minimum score', 'minScore', get('minScore'), { type: 'number', min: 0, max: 1, step: 0.01 }),
          select('Review', 'review', get('review'), [
            ['', 'any'],
            ['unreviewed', 'unreviewed'],
            ['confirmed', 'confirmed'],
            ['rejected', 'rejected'],
            ['relabelled', 'relabelled'],
          ]),
          field('Minimum length (mm)', 'minLengthMm', get('minLengthMm'), { type: 'number', min: 0, step: 0.1 }),
        ],
        params,
        DETECTION_FIELDS,
      ),
      detectionsOut,
    ),
    section(
      'inspections',
      'Inspections',
      searchForm(
        'inspections',
        'List inspections',
        [
          select('Status', 'status', get('status'), [
            ['', 'any'],
            ...['requested', 'running', 'retrying', 'detected', 'failed', 'closed'].map((s) => [s, s]),
          ]),
          select('Verdict', 'verdict', get('verdict'), [
            ['', 'any'],
            ['accept', 'accept'],
            ['reject', 'reject'],
            ['indeterminate', 'indeterminate'],
            ['none', 'not evaluated'],
          ]),
          field('Requested from', 'from', get('from'), { type: 'date' }),
          field('Requested until', 'to', get('to'), { type: 'date' }),
        ],
        params,
        INSPECTION_FIELDS,
      ),
      inspectionsOut,
      openForm,
    ),
  );

  const detectionQuery = new URLSearchParams({ limit: '100' });
  for (const name of DETECTION_FIELDS) {
    if (get(name)) detectionQuery.set(name === 'review' ? 'verdict' : name, get(name));
  }
  const inspectionQuery = new URLSearchParams({ limit: '50' });
  for (const name of ['status', 'verdict']) if (get(name)) inspectionQuery.set(name, get(name));
  if (get('from')) inspectionQuery.set('from', isoOf(get('from'), false));
  if (get('to')) inspectionQuery.set('to', isoOf(get('to'), true));

  const runDetections = DETECTION_FIELDS.some((name) => get(name)) || params.get('run') === 'detections';
  await Promise.all([
    runDetections
      ? api(`/v1/detections?${detectionQuery}`).then(
          (page) => {
            if (mine !== generation) return;
            const rows = page.items.map((hit) =>
              h(
                'tr',
                {},
                h('td', {}, hit.fileName ?? hit.fileId),
                h('td', {}, inspectionLink(hit.inspectionId)),
                h('td', {}, hit.detectionId, hit.role === 'shadow' ? ' (shadow)' : ''),
                h('td', {}, hit.className),
                h('td', { class: 'num' }, num(hit.score, 3)),
                h('td', {}, sizeText(hit.size)),
                h('td', {}, reviewText(hit.review && { ...hit.review, at: hit.review.reviewedAt })),
              ),
            );
            detectionsOut.replaceChildren(
              table(
                `${page.items.length} detection(s)${page.nextCursor ? ' (first page)' : ''}`,
                ['File', 'Inspection', 'Detection', 'Class', 'Score', 'Length × width', 'Review'],
                rows,
                'No detection matches.',
              ),
            );
          },
          (error) => detectionsOut.replaceChildren(problemView(error)),
        )
      : null,
    api(`/v1/inspections?${inspectionQuery}`).then(
      (page) => {
        if (mine !== generation) return;
        const rows = page.items.map((row) =>
          h(
            'tr',
            {},
            h('td', {}, inspectionLink(row.inspectionId)),
            h('td', {}, row.status),
            h('td', {}, `${row.model.name}@${row.model.version}`),
            h('td', { class: 'num' }, row.counts?.detections ?? 0),
            h('td', {}, row.verdict?.verdict ?? 'not evaluated'),
            h('td', {}, time(row.requestedAt), ' by ', row.requestedBy),
          ),
        );
        inspectionsOut.replaceChildren(
          table(
            `${page.items.length} inspection(s), newest first${page.nextCursor ? ' (first page)' : ''}`,
            ['Inspection', 'Status', 'Model', 'Detections', 'Verdict', 'Requested'],
            rows,
            'No inspection matches.',
          ),
        );
      },
      (error) => inspectionsOut.replaceChildren(problemView(error)),
    ),
  ]);
}

// ---------- one inspection ----------

/** The part of an inspection the timeline redraws: from the read model (now) or a folded state (then). */
function snapshotOfReadModel(inspection, evaluations) {
  return {
    status: inspection.status,
    detections: inspection.detections
      .filter((d) => d.role === 'live')
      .map((d) => ({ ...d, review: d.review && { ...d.review, at: d.review.reviewedAt } })),
    verdict: evaluations.at(-1) ?? null,
  };
}

function snapshotOfState(state) {
  const reviews = state.reviews ?? {};
  return {
    status: state.status,
    detections: (state.live?.detections ?? []).map((d) => ({ ...d, review: reviews[d.detectionId] ?? null })),
    verdict: state.evaluations?.at(-1) ?? null,
  };
}

function detectionsTable(detections) {
  const rows = detections.map((d) => {
    const width = d.box.x2 - d.box.x1;
    const height = d.box.y2 - d.box.y1;
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, d.detectionId),
      h('td', {}, d.className),
      h('td', { class: 'num' }, num(d.score, 3)),
      h('td', { class: 'num' }, `${num(d.box.x1, 0)}, ${num(d.box.y1, 0)} – ${num(d.box.x2, 0)}, ${num(d.box.y2, 0)}`),
      h('td', { class: 'num' }, `${num(width, 1)} × ${num(height, 1)}`),
      h('td', { class: 'num' }, d.size ? `${num(d.size.lengthMm)} × ${num(d.size.widthMm)}` : '—'),
      h('td', { class: 'num' }, d.size ? num(d.size.areaMm2) : '—'),
      h(
        'td',
        {},
        reviewText(d.review),
        d.review?.comment ? h('span', { class: 'muted' }, ` “${d.review.comment}”`) : '',
      ),
    );
  });
  if (rows.length === 0) return h('p', { class: 'empty', id: 'no-detections' }, 'No detections at this point.');
  const unsized = detections.some((d) => !d.size);
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { id: 'detections' },
      h(
        'caption',
        {},
        `${rows.length} live detection(s)${unsized ? '; no mm sizes: the file has no pixel spacing' : ''}`,
      ),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [
            'Id',
            'Class',
            'Score',
            'Box x1, y1 – x2, y2 (px)',
            'Width × height (px)',
            'Length × width (mm)',
            'Area (mm²)',
            'Review',
          ].map((text) => h('th', { scope: 'col' }, text)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

const UNITS = { count: '', mm: ' mm', percent: ' %', 'mm-per-length': ' mm per 100 mm' };

function verdictView(verdict) {
  if (!verdict) return h('p', { id: 'verdict', class: 'empty' }, 'Not evaluated against an acceptance profile.');
  const rows = (verdict.rules ?? []).map((rule) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, rule.ruleId),
      h('td', {}, rule.description),
      h(
        'td',
        { class: 'num' },
        rule.measured === null ? '—' : `${rule.measured}${UNITS[rule.unit] ?? ` ${rule.unit}`}`,
      ),
      h('td', { class: 'num' }, `${rule.limit}${UNITS[rule.unit] ?? ` ${rule.unit}`}`),
      h('td', {}, h('span', { class: `outcome outcome-${rule.outcome}` }, rule.outcome)),
      h('td', {}, (rule.detectionIds ?? []).join(', ') || '—'),
    ),
  );
  return h(
    'div',
    { id: 'verdict' },
    h(
      'p',
      { class: 'verdict-line' },
      'Verdict: ',
      h('strong', { class: `verdict verdict-${verdict.verdict}` }, verdict.verdict),
      ` against ${verdict.profile?.name ?? verdict.profile?.profileId} (revision ${verdict.profile?.revision}), evaluated by ${verdict.evaluatedBy}`,
      verdict.recordedAt ? `, ${time(verdict.recordedAt)}` : '',
    ),
    table(
      'Each rule of the profile',
      ['Rule', 'Description', 'Measured', 'Limit', 'Outcome', 'Detections'],
      rows,
      'The profile has no rules.',
    ),
    verdict.excluded?.length
      ? h('p', { class: 'muted' }, `Left out (rejected by a reviewer): ${verdict.excluded.join(', ')}`)
      : null,
  );
}

/** The annotated image as the API renders it (boxes, class, score, id), fetched with the token. */
async function imageView(inspectionId, asOfPosition, signal) {
  const query = new URLSearchParams({ annotated: 'true' });
  if (asOfPosition !== undefined) query.set('asOf', String(asOfPosition));
  try {
    const response = await api(`/v1/inspections/${encodeURIComponent(inspectionId)}/image?${query}`, {
      raw: true,
      signal,
    });
    const url = URL.createObjectURL(await response.blob());
    const image = h('img', {
      src: url,
      alt: `Radiograph of inspection ${inspectionId} with its detections drawn as labelled boxes`,
    });
    image.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
    return image;
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    return problemView(error);
  }
}

function historyList(entries, current) {
  return h(
    'ol',
    { class: 'events', id: 'events' },
    entries.map((entry, index) =>
      h(
        'li',
        { class: index < current ? 'past' : 'future', 'aria-current': index === current - 1 ? 'step' : false },
        h('span', { class: 'event-type' }, `v${entry.streamVersion} ${entry.type}`),
        ' ',
        h('time', { datetime: entry.recordedAt }, time(entry.recordedAt)),
        ' — ',
        entry.summary,
      ),
    ),
  );
}

/**
 * A time slider over a stream's events: position n shows the state after the n-th event (the
 * API's ?asOf=<global position>). A native range input: arrow keys, Home and End work, and its
 * value text names the event and its time.
 */
function timeline(entries, onChange) {
  const slider = h('input', {
    id: 'as-of',
    type: 'range',
    min: 1,
    max: entries.length,
    step: 1,
    value: entries.length,
    'aria-describedby': 'as-of-value',
  });
  const output = h('output', { id: 'as-of-value', for: 'as-of' });
  const list = h('div', {});
  const describe = (n) => {
    const entry = entries[n - 1];
    return `Event ${n} of ${entries.length}: ${entry.type}, ${time(entry.recordedAt)}${n === entries.length ? ' (latest)' : ''}`;
  };
  const update = () => {
    const n = Number(slider.value);
    const text = describe(n);
    slider.setAttribute('aria-valuetext', text);
    output.textContent = text;
    list.replaceChildren(historyList(entries, n));
    return n;
  };
  update();
  slider.addEventListener('input', () => onChange(update()));
  const latest = h('button', { type: 'button', id: 'as-of-latest' }, 'Show latest');
  latest.addEventListener('click', () => {
    slider.value = String(entries.length);
    onChange(update());
  });
  return h(
    'div',
    { class: 'timeline' },
    h('label', { for: 'as-of' }, 'State as of'),
    h('div', { class: 'slider-row' }, slider, latest),
    output,
    list,
  );
}

/** A stream's events you may read, oldest first (the audit trail, page by page, up to 5,000). */
async function streamEntries(streamId) {
  const entries = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ streamId, order: 'asc', limit: '500', ...(cursor ? { cursor } : {}) });
    const page = await api(`/v1/audit/trail?${query}`);
    entries.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && entries.length < 5000);
  return entries;
}

async function inspectionView(inspectionId, mine) {
  const path = `/v1/inspections/${encodeURIComponent(inspectionId)}`;
  const streamId = `inspection-${inspectionId}`;
  const timeTravel = can('audit:read') && can('history:as-of');
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let inspection;
  let evaluations;
  let entries = [];
  try {
    [inspection, evaluations, entries] = await Promise.all([
      api(path),
      api(`${path}/evaluations`).then((page) => page.items),
      can('audit:read') ? streamEntries(streamId) : [],
    ]);
  } catch (error) {
    if (mine === generation) show(`Inspection ${inspectionId}`, problemView(error));
    return;
  }
  if (mine !== generation) return;

  const latest = snapshotOfReadModel(inspection, evaluations);
  const figure = h('figure', { class: 'image' });
  const stateStatus = h('p', { id: 'state-status' });
  const detections = h('div', {});
  const verdict = h('div', {});
  let asOfPosition;
  let inFlight;

  const draw = async (snapshot, position, label) => {
    asOfPosition = position;
    inFlight?.abort();
    inFlight = new AbortController();
    const { signal } = inFlight;
    stateStatus.replaceChildren(`Status ${snapshot.status}`, label ? ` — ${label}` : ' (now)');
    detections.replaceChildren(detectionsTable(snapshot.detections));
    verdict.replaceChildren(verdictView(snapshot.verdict));
    figure.replaceChildren(h('p', { class: 'muted' }, 'Loading the image…'));
    try {
      const image = await imageView(inspectionId, position, signal);
      if (!signal.aborted)
        figure.replaceChildren(image, h('figcaption', {}, 'Annotated image', label ? `, ${label}` : ' (now)'));
    } catch {
      // aborted by a newer position
    }
  };

  const onSlide = async (n) => {
    if (n === entries.length) {
      await draw(latest, undefined, undefined);
      return;
    }
    const entry = entries[n - 1];
    const label = `as of event ${n} (${entry.type}, ${time(entry.recordedAt)})`;
    const controller = new AbortController();
    inFlight?.abort();
    inFlight = controller;
    try {
      const reply = await api(`${path}?asOf=${entry.position}`, { signal: controller.signal });
      if (!controller.signal.aborted) await draw(snapshotOfState(reply.state), entry.position, label);
    } catch (error) {
      if (error?.name !== 'AbortError') detections.replaceChildren(problemView(error));
    }
  };

  const reportPath = (format) => () =>
    `${path}/report?format=${format}${asOfPosition !== undefined ? `&asOf=${asOfPosition}` : ''}`;
  const reviews = entries.filter((e) =>
    ['DetectionReviewed', 'InspectionEvaluated', 'InspectionClosed', 'ReportIssued'].includes(e.type),
  );

  show(
    `Inspection ${inspectionId}`,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      h('dd', { id: 'status-now' }, inspection.status),
      h('dt', {}, 'File'),
      h(
        'dd',
        {},
        inspection.fileId,
        h('br'),
        h('span', { class: 'muted mono' }, `sha256 ${inspection.fileSha256 ?? '—'}`),
      ),
      h('dt', {}, 'Model'),
      h(
        'dd',
        {},
        `${inspection.model.name}@${inspection.model.version} (${inspection.selection?.reason ?? '—'})`,
        h('br'),
        h('span', { class: 'muted mono' }, `sha256 ${inspection.model.sha256 ?? '—'}`),
      ),
      h('dt', {}, 'Requested'),
      h('dd', {}, `${time(inspection.requestedAt)} by ${inspection.requestedBy}`),
      h('dt', {}, 'Detected'),
      h('dd', {}, time(inspection.detectedAt)),
      inspection.outcome
        ? [h('dt', {}, 'Closed'), h('dd', {}, `${inspection.outcome} by ${inspection.closedBy}`)]
        : null,
    ),
    section(
      'downloads',
      'Report',
      h(
        'p',
        { class: 'muted' },
        'Issued as shown: as of the point the history slider is at. Every report handed out is recorded.',
      ),
      downloadButtons('Download the report', [
        { text: 'PDF', path: reportPath('pdf'), name: 'report.pdf', id: 'report-pdf' },
        { text: 'HTML', path: reportPath('html'), name: 'report.html', id: 'report-html' },
        { text: 'CSV', path: reportPath('csv'), name: 'report.csv', id: 'report-csv' },
        { text: 'JSON', path: reportPath('json'), name: 'report.json', id: 'report-json' },
      ]),
    ),
    timeTravel && entries.length > 0
      ? section('history', 'History', timeline(entries, onSlide))
      : h(
          'p',
          { class: 'muted', id: 'no-time-travel' },
          'Time travel needs the audit:read and history:as-of permissions (auditors); this is the inspection now.',
        ),
    section('state', 'Detections', stateStatus, figure, detections),
    section('verdict', 'Verdict', verdict),
    section(
      'reviews',
      'Review history',
      can('audit:read')
        ? reviews.length
          ? h(
              'ol',
              { class: 'events' },
              reviews.map((e) =>
                h('li', {}, h('time', { datetime: e.recordedAt }, time(e.recordedAt)), ' — ', e.summary),
              ),
            )
          : h('p', { class: 'empty' }, 'No reviews, evaluations or reports yet.')
        : h(
            'p',
            { class: 'muted' },
            'The latest review of each detection is in the table above; the full history needs audit:read.',
          ),
      can('audit:read')
        ? h('p', {}, h('a', { href: `#/history/${encodeURIComponent(streamId)}` }, 'Whole stream history'))
        : null,
    ),
  );
  await draw(latest, undefined, undefined);
}

// ---------- any stream's history ----------

async function historyView(streamId, mine) {
  const form = h(
    'form',
    { class: 'search-form', 'aria-label': 'Choose a stream' },
    field('Stream id', 'streamId', streamId ?? '', {
      required: true,
      spellcheck: 'false',
      size: 50,
      placeholder: 'inspection-…, file-…, model-weld-defects, user-…',
    }),
    h('button', {}, 'Show history'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/history/${encodeURIComponent(form.elements.streamId.value.trim())}`;
  });
  if (!can('audit:read') || !can('history:as-of')) {
    show('History', permissionNote(['audit:read', 'history:as-of']));
    return;
  }
  if (!streamId) {
    show(
      'History',
      form,
      h('p', { class: 'muted' }, 'Any stream: its events in order, and its state as of any of them.'),
    );
    return;
  }
  const out = h('div', {});
  show(`History of ${streamId}`, form, out);
  try {
    const entries = await streamEntries(streamId);
    if (mine !== generation) return;
    if (entries.length === 0) {
      out.replaceChildren(h('p', { class: 'empty' }, 'No events you may read in this stream.'));
      return;
    }
    const state = h('pre', { id: 'stream-state', tabindex: '0', 'aria-label': 'State as of the chosen event' });
    let controller;
    const onSlide = async (n) => {
      controller?.abort();
      controller = new AbortController();
      const { signal } = controller;
      try {
        const reply = await api(`/v1/audit/streams/${encodeURIComponent(streamId)}?asOf=${entries[n - 1].position}`, {
          signal,
        });
        if (!signal.aborted) state.textContent = JSON.stringify(reply.state, null, 2);
      } catch (error) {
        if (error?.name !== 'AbortError') state.replaceChildren(problemView(error));
      }
    };
    const inspectionId = streamId.startsWith('inspection-') ? streamId.slice('inspection-'.length) : null;
    out.replaceChildren(
      inspectionId
        ? h('p', {}, h('a', { href: `#/inspections/${encodeURIComponent(inspectionId)}` }, 'Open the inspection page'))
        : '',
      timeline(entries, onSlide),
      h('h2', {}, 'State'),
      state,
    );
    await onSlide(entries.length);
  } catch (error) {
    if (mine === generation) out.replaceChildren(problemView(error));
  }
}

// ---------- audit ----------

function permissionNote(needed) {
  return h(
    'p',
    { class: 'notice', id: 'permission-note' },
    `This needs ${needed.join(' and ')}, which your roles (${session.roles.join(', ') || 'none'}) do not grant.`,
  );
}

function verifyResultView(result) {
  const problem = result.firstProblem;
  return h(
    'div',
    { id: 'verify-result', 'data-ok': String(result.ok), class: result.ok ? 'ok' : 'broken' },
    h(
      'p',
      { class: 'verdict-line' },
      h('strong', {}, result.ok ? 'Intact' : 'Altered'),
      result.ok ? ': every hash chain and seal verifies.' : `: ${result.problemCount} problem(s).`,
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Events checked'),
      h('dd', {}, result.eventsChecked),
      h('dt', {}, 'Seals checked'),
      h('dd', {}, `${result.sealsChecked} (${result.anchoredSealsChecked} against the anchor)`),
      h('dt', {}, 'Sealed up to position'),
      h('dd', {}, result.sealedUpTo),
      h('dt', {}, 'Seal keys'),
      h('dd', { class: 'mono' }, result.sealKeys.join(', ') || '—'),
      result.oldestUnsealedAt
        ? [h('dt', {}, 'Oldest unsealed event'), h('dd', {}, time(result.oldestUnsealedAt))]
        : null,
      problem
        ? [
            h('dt', {}, 'First problem'),
            h(
              'dd',
              {},
              `${problem.kind}${problem.globalPosition !== undefined ? ` at position ${problem.globalPosition}` : ''}${problem.streamId ? ` in ${problem.streamId}` : ''}: ${problem.detail}`,
            ),
          ]
        : null,
    ),
  );
}

function reportVerificationView(result) {
  return h(
    'div',
    { id: 'report-verify-result', 'data-issued': String(result.issued) },
    h(
      'p',
      { class: 'verdict-line' },
      h('strong', {}, result.issued ? 'Issued by Chitti' : 'Not issued by Chitti'),
      h('span', { class: 'mono' }, ` sha256 ${result.reportSha256}`),
    ),
    result.issuances.length
      ? h(
          'ul',
          {},
          result.issuances.map((i) =>
            h(
              'li',
              {},
              `${i.format} of inspection `,
              inspectionLink(i.inspectionId),
              ` to ${i.issuedBy}, ${time(i.issuedAt)}${i.asOf ? `, as of ${i.asOf}` : ''} (stream version ${i.covers.streamVersion})`,
            ),
          ),
        )
      : null,
    result.history
      ? h(
          'p',
          {},
          h('strong', {}, result.history.ok ? 'History verifies' : 'History does not verify'),
          `: ${result.history.detail}`,
        )
      : null,
  );
}

async function auditView(mine) {
  if (!can('audit:read')) {
    show('Audit', permissionNote(['audit:read']));
    return;
  }
  const verifyOut = h('div', { 'aria-live': 'polite' });
  const reportOut = h('div', { 'aria-live': 'polite' });
  const trailOut = h('div', {});
  const fileInput = h('input', { id: 'report-file', type: 'file', accept: '.pdf,.html,.csv,.json' });
  const sections = [];
  if (can('audit:verify')) {
    sections.push(
      section(
        'verify',
        'Verify the event log',
        h(
          'p',
          { class: 'muted' },
          'Recomputes every hash chain and signed seal; names the first altered, inserted or deleted event. Recorded as an access.',
        ),
        actionButton('Verify now', async () => verifyResultView(await api('/v1/audit/verify')), verifyOut, {
          id: 'verify',
        }),
        verifyOut,
      ),
      section(
        'report-verify',
        'Verify a report file',
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'report-file' }, 'Report file (PDF, HTML, CSV or JSON)'),
          fileInput,
        ),
        actionButton(
          'Verify report',
          async () => {
            const file = fileInput.files?.[0];
            if (!file) throw new ApiProblem({ title: 'No file chosen', detail: 'choose the report file first' });
            const known = ['application/pdf', 'text/html', 'text/csv', 'application/json'];
            const contentType = known.includes(file.type) ? file.type : 'application/octet-stream';
            return reportVerificationView(await api('/v1/reports/verify', { method: 'POST', body: file, contentType }));
          },
          reportOut,
          { id: 'verify-report' },
        ),
        reportOut,
      ),
    );
  }
  if (can('audit:export')) {
    sections.push(
      section(
        'export',
        'Export',
        h(
          'p',
          { class: 'muted' },
          'The events you may read, with their hashes, then the seals over them and their public keys (NDJSON). docs/integrity.md says how to check it offline.',
        ),
        downloadButtons('Download an export', [
          { text: 'Event log (NDJSON)', path: () => '/v1/audit/export', name: 'chitti-events.ndjson', id: 'export' },
        ]),
      ),
    );
  }
  show('Audit', ...sections, section('trail', 'Latest events', trailOut));
  try {
    const page = await api('/v1/audit/trail?limit=50');
    if (mine !== generation) return;
    trailOut.replaceChildren(
      table(
        'The 50 newest events you may read',
        ['Position', 'Time', 'Stream', 'Event', 'Actor', 'Summary'],
        page.items.map((e) =>
          h(
            'tr',
            {},
            h('td', { class: 'num' }, e.position),
            h('td', {}, time(e.recordedAt)),
            h('td', {}, h('a', { href: `#/history/${encodeURIComponent(e.streamId)}` }, e.streamId)),
            h('td', {}, e.type),
            h('td', {}, e.actor),
            h('td', {}, e.summary),
          ),
        ),
        'No events.',
      ),
    );
  } catch (error) {
    trailOut.replaceChildren(problemView(error));
  }
}

// ---------- routing ----------

function route() {
  const mine = ++generation;
  if (!session) {
    showSignIn();
    return;
  }
  const [path = '', query = ''] = (location.hash.startsWith('#/') ? location.hash.slice(1) : '').split('?');
  const [section = 'search', id] = path.split('/').filter(Boolean);
  const key = id === undefined ? undefined : decodeURIComponent(id);
  showChrome(section === 'inspections' ? 'search' : section);
  const done = (promise) =>
    promise.catch((error) => {
      if (mine === generation) view.replaceChildren(problemView(error));
    });
  if (section === 'inspections' && key) done(inspectionView(key, mine));
  else if (section === 'history') done(historyView(key, mine));
  else if (section === 'audit') done(auditView(mine));
  else done(searchView(new URLSearchParams(query), mine));
}

async function boot() {
  try {
    session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
  } catch {
    session = null;
  }
  try {
    const response = await fetch('/console/roles.json');
    roleTable = await response.json();
  } catch {
    roleTable = {};
  }
  // Only '#/…' is a route: the skip link's '#main' moves the focus and leaves the view alone.
  window.addEventListener('hashchange', () => {
    if (location.hash === '' || location.hash.startsWith('#/')) route();
  });
  route();
  document.body.dataset.ready = 'true';
}

boot();
