// moat console: a single page over the RPC API (signed in the browser with
// signature v3, sign.js) and the admin API (bearer token). Credentials live
// only in the variable `S` of this module: never in storage, cookies or
// the URL, so closing or reloading the tab forgets them.

import { signedRequest } from './sign.js';

const DDOSCOO = '2020-01-01';
const BSS = '2017-12-14';
const HOUR = 3600e3;
const DAY = 24 * HOUR;
const PROBE_ID = 'ddoscoo-cn-console-permission-probe';

// S is the session: credentials, the server clock's offset and the list's
// filters. It is lost with the tab.
const S = {
  creds: null, // {accessKeyId, secret, securityToken}
  region: 'cn-hangzhou',
  adminToken: '',
  offsetMs: 0, // server time minus browser time, from the admin clock
  canRelease: true, // false once RAM refused the release probe
  filters: {},
  page: 1,
  pageSize: 10,
  hookAccount: '', // the account the webhooks page last showed
};

const $ = (sel, root = document) => root.querySelector(sel);

// h builds an element: attributes (on* as listeners, booleans as
// presence) and children (strings become text nodes, never HTML).
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// svg builds an SVG element the same way.
function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ApiError is an error answer: the API's Code and Message, its RequestId.
class ApiError extends Error {
  constructor(code, message, requestId, status) {
    super(message);
    this.code = code;
    this.requestId = requestId;
    this.status = status;
  }
}

// regions are where progress and errors are shown: inside the open
// dialog, if any (the page behind a modal dialog is inert), else the bar.
function regions() {
  const d = document.querySelector('dialog[open]');
  if (d) return { progress: $('.progress', d), error: $('.error', d) };
  return { progress: $('#progress'), error: $('#error') };
}

let running = 0;

// busy runs fn while showing what is being called; the view is marked
// aria-busy and the dialog's buttons are disabled meanwhile.
async function busy(label, fn) {
  const r = regions();
  running++;
  r.progress.textContent = label + '…';
  $('#view').setAttribute('aria-busy', 'true');
  const d = document.querySelector('dialog[open]');
  const buttons = d ? [...d.querySelectorAll('button')].filter((b) => !b.disabled) : [];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    return await fn();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    if (--running === 0) {
      $('#view').removeAttribute('aria-busy');
      $('#progress').textContent = '';
    }
    r.progress.textContent = '';
  }
}

function clearMessages() {
  const r = regions();
  r.error.replaceChildren();
  $('#error').replaceChildren();
  $('#notice').textContent = '';
}

// showError shows an API error as its Code and Message (and RequestId).
function showError(err) {
  const r = regions();
  if (err instanceof ApiError) {
    r.error.replaceChildren(
      h('span', { class: 'code' }, err.code), ': ', err.message,
      err.requestId ? h('span', { class: 'hint' }, ` (RequestId ${err.requestId})`) : '');
  } else {
    r.error.replaceChildren(h('span', { class: 'code' }, 'ConsoleError'), ': ', String(err && err.message || err));
  }
}

function notice(text) {
  $('#notice').textContent = text;
}

let pendingNotice = '';

// go shows the view of hash with a notice that survives the navigation
// (route clears the message regions); the same hash is routed again.
function go(hash, text = '') {
  pendingNotice = text;
  if (location.hash === hash) route();
  else location.hash = hash;
}

// rpc calls one RPC action: POST / with every parameter in the query,
// signed with signature v3. An answer that is not 2xx, or a BSS answer
// with Success false, is an ApiError.
async function rpc(action, params = {}, version = DDOSCOO) {
  if (!S.creds) throw new ApiError('NotSignedIn', 'Sign in with an AccessKey pair to call the API.');
  const p = {};
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p[k] = String(v);
  }
  if (version === DDOSCOO && !p.RegionId) p.RegionId = S.region;
  const req = await signedRequest({ host: location.host, action, version, params: p, creds: S.creds });
  const res = await fetch(req.url, { method: 'POST', headers: req.headers, cache: 'no-store', credentials: 'omit' });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError('InvalidResponse', `${action} answered HTTP ${res.status} without JSON.`, '', res.status);
  }
  if (!res.ok || (version === BSS && body.Success === false)) {
    throw new ApiError(body.Code || `HTTP${res.status}`, body.Message || '', body.RequestId || '', res.status);
  }
  return body;
}

// admin calls the admin API with the bearer token.
async function admin(method, path, body) {
  if (!S.adminToken) throw new ApiError('NoAdminToken', 'Sign in with the admin token to use the admin API.');
  const init = { method, headers: { Authorization: 'Bearer ' + S.adminToken }, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch('/_moat/v1/' + path, init);
  let out;
  try {
    out = await res.json();
  } catch {
    throw new ApiError(`HTTP${res.status}`, 'The admin API answered without JSON.', '', res.status);
  }
  if (!res.ok) throw new ApiError(out.Code || `HTTP${res.status}`, out.Message || '', '', res.status);
  return out;
}

// serverNow is the server's time as far as the console knows it: the
// browser's clock plus the offset the admin clock reported (0 without the
// admin token).
function serverNow() {
  return Date.now() + S.offsetMs;
}

async function syncClock() {
  if (!S.adminToken) return;
  const c = await admin('GET', 'clock');
  S.offsetMs = Date.parse(c.Now) - Date.now();
}

// ---- words ----

function fmtTime(ms) {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

function fmtDuration(ms) {
  if (ms < 60e3) return 'less than a minute';
  const d = Math.floor(ms / DAY);
  const hh = Math.floor((ms % DAY) / HOUR);
  const m = Math.floor((ms % HOUR) / 60e3);
  if (d > 0) return `${d} d ${hh} h`;
  if (hh > 0) return `${hh} h ${m} min`;
  return `${m} min`;
}

// stateOf says where an instance is in its life: in service (Status 1),
// expired but forwarding (Status 2, Enabled 1; forwarding stops seven
// days after expiry), forwarding stopped (Enabled 0), or released.
function stateOf(inst) {
  if (inst.released) return { words: 'released', cls: 's-bad', key: 'released' };
  if (inst.Status === 1) return { words: `in service until ${fmtTime(inst.ExpireTime)}`, cls: 's-ok', key: 'active' };
  if (inst.Enabled === 1) {
    const left = inst.ExpireTime + 7 * DAY - serverNow();
    const when = left > 0 ? `in ${fmtDuration(left)}` : 'soon';
    return { words: `expired: mitigation off; forwarding stops ${when}`, cls: 's-warn', key: 'expired' };
  }
  return { words: 'forwarding stopped', cls: 's-bad', key: 'stopped' };
}

function fmtRate(n, unit) {
  const units = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  const shown = Number.isInteger(v) || v >= 100 ? Math.round(v) : v.toFixed(1);
  return `${shown} ${units[i]}${unit}`.trim();
}

// ---- views ----

const views = {
  signin: viewSignIn,
  instances: viewInstances,
  instance: viewInstance,
  release: viewRelease,
  admin: viewAdmin,
  webhooks: viewWebhooks,
  webhook: viewWebhook,
};

// ADMIN_VIEWS need only the admin token.
const ADMIN_VIEWS = new Set(['admin', 'webhooks', 'webhook']);

// route renders the view the hash names: #/instances, #/instance/ID,
// #/release/ID, #/admin, #/signin.
async function route() {
  clearMessages();
  notice(pendingNotice);
  pendingNotice = '';
  closeDialogs();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  let name = parts[0] || 'instances';
  if (!views[name]) name = 'instances';
  if (!S.creds && !S.adminToken) name = 'signin';
  else if (!S.creds && !ADMIN_VIEWS.has(name)) name = 'admin';
  const section = { instance: 'instances', release: 'instances', webhook: 'webhooks' }[name] || name;
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.id === 'nav-' + section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = $('#view');
  view.replaceChildren();
  try {
    await views[name](view, parts.slice(1));
  } catch (err) {
    showError(err);
  }
}

function focusHeading(view) {
  const h1 = $('h1', view);
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus();
  }
}

function field(label, input, hint) {
  const id = input.id || ('f-' + Math.random().toString(36).slice(2));
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, ' ', hint) : ''), input);
}

function text(name, attrs = {}) {
  return h('input', { type: 'text', name, autocomplete: 'off', spellcheck: 'false', ...attrs });
}

function select(name, options, value) {
  return h('select', { name }, options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
}

function whoAmI() {
  const parts = [];
  if (S.creds) parts.push(`${S.creds.accessKeyId}${S.creds.securityToken ? ' (STS)' : ''} · ${S.region}`);
  if (S.adminToken) parts.push('admin');
  $('#who').textContent = parts.length ? 'Signed in: ' + parts.join(' · ') : '';
  $('#signout').hidden = parts.length === 0;
}

function viewSignIn(view) {
  const f = h('form', { class: 'card', 'aria-labelledby': 'signin-h' },
    h('p', {}, 'The console calls the API as you: each call is signed in this tab with signature v3. ',
      'The secret and the admin token stay in this tab\'s memory and are forgotten when it closes.'),
    field('AccessKeyId', text('accessKeyId', { autocomplete: 'username' })),
    field('AccessKeySecret', h('input', { type: 'password', name: 'secret', autocomplete: 'current-password' })),
    field('SecurityToken', text('securityToken'), '(STS credentials only)'),
    field('Region', select('region', [['cn-hangzhou', 'cn-hangzhou (Anti-DDoS Pro)'], ['ap-southeast-1', 'ap-southeast-1 (Anti-DDoS Premium)']], S.region)),
    field('Admin token', h('input', { type: 'password', name: 'adminToken', autocomplete: 'off' }), '(optional: accounts, keys, clock, events, audit)'),
    h('button', { type: 'submit' }, 'Sign in'));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearMessages();
    const d = new FormData(f);
    const id = d.get('accessKeyId').trim();
    const secret = d.get('secret');
    const token = d.get('adminToken');
    if (!id && !token) {
      showError(new ApiError('MissingCredentials', 'Give an AccessKey pair, the admin token, or both.'));
      return;
    }
    try {
      await busy('Signing in', async () => {
        S.adminToken = token;
        S.region = d.get('region');
        S.creds = id ? { accessKeyId: id, secret, securityToken: d.get('securityToken').trim() } : null;
        if (S.adminToken) await syncClock();
        if (S.creds) {
          await rpc('DescribeInstances', { PageNumber: 1, PageSize: 1 });
          S.canRelease = await probeRelease();
        }
      });
    } catch (err) {
      S.creds = null;
      S.adminToken = '';
      showError(err);
      return;
    }
    f.reset();
    whoAmI();
    go(S.creds ? '#/instances' : '#/admin');
  });
  view.append(h('h1', { id: 'signin-h' }, 'Sign in'), f);
  focusHeading(view);
}

// probeRelease asks RAM whether these credentials may release instances
// at all: ReleaseInstance of an instance that cannot exist is refused
// with Forbidden.RAM when the policies deny it and InstanceNotFound
// otherwise (RAM judges a call before its instance is looked up). The
// release button is hidden when RAM refused; a policy that allows only
// some instances still shows it, and the call then reports Forbidden.RAM.
async function probeRelease() {
  try {
    await rpc('ReleaseInstance', { InstanceId: PROBE_ID });
    return true;
  } catch (err) {
    return !(err instanceof ApiError && err.code === 'Forbidden.RAM');
  }
}

// listParams turns the filter form into DescribeInstances parameters.
function listParams() {
  const f = S.filters;
  const p = { PageNumber: S.page, PageSize: S.pageSize };
  if (f.instanceId) p['InstanceIds.1'] = f.instanceId;
  if (f.ip) p.Ip = f.ip;
  if (f.remark) p.Remark = f.remark;
  if (f.status) p['Status.1'] = f.status;
  if (f.enabled) p.Enabled = f.enabled;
  if (f.tagKey) {
    p['Tag.1.Key'] = f.tagKey;
    if (f.tagValue) p['Tag.1.Value'] = f.tagValue;
  }
  return p;
}

async function tagsOf(ids) {
  const out = {};
  if (!ids.length) return out;
  const p = { RegionId: S.region, ResourceType: 'INSTANCE' };
  ids.forEach((id, i) => { p[`ResourceIds.${i + 1}`] = id; });
  for (let page = 0; page < 20; page++) {
    const r = await rpc('DescribeTagResources', p);
    for (const t of (r.TagResources && r.TagResources.TagResource) || []) {
      (out[t.ResourceId] ||= []).push(`${t.TagKey}=${t.TagValue}`);
    }
    if (!r.NextToken) break;
    p.NextToken = r.NextToken;
  }
  return out;
}

async function viewInstances(view) {
  const f = S.filters;
  const form = h('form', { class: 'card', role: 'search', 'aria-label': 'Filter instances' },
    h('div', { class: 'row' },
      field('Instance ID', text('instanceId', { value: f.instanceId || '' })),
      field('IP', text('ip', { value: f.ip || '' })),
      field('Remark contains', text('remark', { value: f.remark || '' })),
      field('Status', select('status', [['', 'any'], ['1', 'in service'], ['2', 'expired']], f.status || '')),
      field('Forwarding', select('enabled', [['', 'any'], ['1', 'on'], ['0', 'stopped']], f.enabled || '')),
      field('Tag key', text('tagKey', { value: f.tagKey || '' })),
      field('Tag value', text('tagValue', { value: f.tagValue || '' })),
      field('Per page', select('pageSize', [['10', '10'], ['20', '20'], ['50', '50']], String(S.pageSize)))),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Apply filters'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { S.filters = {}; S.page = 1; route(); } }, 'Clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    S.filters = {};
    for (const k of ['instanceId', 'ip', 'remark', 'status', 'enabled', 'tagKey', 'tagValue']) {
      const v = String(d.get(k) || '').trim();
      if (v) S.filters[k] = v;
    }
    S.pageSize = Number(d.get('pageSize'));
    S.page = 1;
    loadList(list);
  });
  const list = h('div', { id: 'list' });
  view.append(h('h1', {}, 'Instances'), form, list);
  focusHeading(view);
  await loadList(list);
}

async function loadList(list) {
  clearMessages();
  let res;
  let tags;
  try {
    res = await busy('Calling DescribeInstances', async () => {
      await syncClock();
      return rpc('DescribeInstances', listParams());
    });
    tags = await busy('Calling DescribeTagResources', () => tagsOf(res.Instances.map((i) => i.InstanceId)));
  } catch (err) {
    showError(err);
    return;
  }
  const pages = Math.max(1, Math.ceil(res.TotalCount / S.pageSize));
  const rows = res.Instances.map((inst) => {
    const st = stateOf(inst);
    const id = inst.InstanceId;
    return h('tr', { 'data-instance': id, 'data-state': st.key },
      h('td', { 'data-label': 'Instance' }, h('a', { href: '#/instance/' + encodeURIComponent(id) }, id)),
      h('td', { 'data-label': 'IP' }, inst.Ip),
      h('td', { 'data-label': 'Remark', class: 'remark' }, inst.Remark),
      h('td', { 'data-label': 'State', class: 'state ' + st.cls }, st.words),
      h('td', { 'data-label': 'Tags' }, (tags[id] || []).map((t) => h('span', { class: 'tag' }, t))),
      h('td', { 'data-label': 'Actions' }, actionButtons(inst, () => loadList(list))));
  });
  list.replaceChildren(
    h('p', { id: 'count', 'aria-live': 'polite' }, `${res.TotalCount} instance${res.TotalCount === 1 ? '' : 's'}`),
    rows.length ? h('table', { class: 'cards', 'aria-label': 'Instances' },
      h('thead', {}, h('tr', {}, ['Instance', 'IP', 'Remark', 'State', 'Tags', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)) : h('p', {}, 'No instance matches.'),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('button', { type: 'button', class: 'secondary', disabled: S.page <= 1, onclick: () => { S.page--; loadList(list); } }, 'Previous page'),
      h('span', {}, `Page ${S.page} of ${pages}`),
      h('button', { type: 'button', class: 'secondary', disabled: S.page >= pages, onclick: () => { S.page++; loadList(list); } }, 'Next page')));
}

// actionButtons are an instance's actions: rename, renew, and release
// when it has expired (and RAM did not refuse releases outright).
function actionButtons(inst, done) {
  const id = inst.InstanceId;
  const st = stateOf(inst);
  if (st.key === 'released') return h('span', { class: 'hint' }, 'none');
  return h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'secondary', 'aria-label': `Rename ${id}`, onclick: () => renameDialog(inst, done) }, 'Rename'),
    h('button', { type: 'button', class: 'secondary', 'aria-label': `Renew ${id}`, onclick: () => renewDialog(inst, done) }, 'Renew'),
    st.key !== 'active' && S.canRelease
      ? h('button', { type: 'button', class: 'danger', 'aria-label': `Release ${id}`, onclick: () => releaseDialog(id) }, 'Release')
      : null);
}

// ---- dialogs ----

function closeDialogs() {
  for (const d of document.querySelectorAll('dialog')) {
    if (d.open) d.close();
    d.remove();
  }
}

// dialog opens a modal with a heading, content, the form's buttons, and
// its own progress and error regions; Escape or Cancel closes it and
// focus returns to what opened it.
function dialog(title, content, submitLabel, onSubmit, { danger = false, submitDisabled = false } = {}) {
  closeDialogs();
  const opener = document.activeElement;
  const submit = h('button', { type: 'submit', class: danger ? 'danger' : null, disabled: submitDisabled }, submitLabel);
  const form = h('form', {},
    content,
    h('div', { class: 'progress', role: 'status', 'aria-live': 'polite' }),
    h('div', { class: 'error', role: 'alert' }),
    h('div', { class: 'actions' }, submit,
      h('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel')));
  const d = h('dialog', { 'aria-labelledby': 'dlg-title' }, h('h2', { id: 'dlg-title' }, title), form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('.error', d).replaceChildren();
    try {
      await onSubmit(new FormData(form), d);
    } catch (err) {
      showError(err);
    }
  });
  d.addEventListener('close', () => {
    d.remove();
    if (opener && document.contains(opener)) opener.focus();
  });
  document.body.append(d);
  d.showModal();
  const first = $('input, select, textarea', d);
  if (first) first.focus();
  return { d, submit };
}

function renameDialog(inst, done) {
  const input = text('remark', { value: inst.Remark, maxlength: 500 });
  dialog(`Rename ${inst.InstanceId}`, field('Remark', input), 'Save', async (data, d) => {
    const remark = String(data.get('remark'));
    await busy('Calling ModifyInstanceRemark', () => rpc('ModifyInstanceRemark', { InstanceId: inst.InstanceId, Remark: remark }));
    d.close();
    await done();
    notice(`Remark of ${inst.InstanceId} saved.`);
  });
}

function renewDialog(inst, done) {
  const productTypes = S.region === 'ap-southeast-1'
    ? [['ddosDip', 'ddosDip (Anti-DDoS Premium)']]
    : [['ddoscoo', 'ddoscoo (Anti-DDoS Pro)'], ['ddoscoo_intl', 'ddoscoo_intl (Anti-DDoS Pro, international)']];
  dialog(`Renew ${inst.InstanceId}`, [
    h('p', {}, `Expires ${fmtTime(inst.ExpireTime)}. Renewal adds whole months (BSS RenewInstance).`),
    field('Months', select('period', [1, 2, 3, 6, 12, 24, 36].map((n) => [String(n), `${n} month${n > 1 ? 's' : ''}`]), '1')),
    field('Product type', select('productType', productTypes, productTypes[0][0]), '(as the instance was bought)'),
  ], 'Renew', async (data, d) => {
    const r = await busy('Calling RenewInstance', () => rpc('RenewInstance', {
      ProductCode: 'ddos', ProductType: data.get('productType'), InstanceId: inst.InstanceId,
      RenewPeriod: data.get('period'), ClientToken: crypto.randomUUID(),
    }, BSS));
    d.close();
    await done();
    notice(`${inst.InstanceId} renewed (order ${r.Data && r.Data.OrderId || r.RequestId}).`);
  });
}

// wholeMinute is t in UNIX seconds rounded up to a whole minute: the
// statistics actions take whole minutes (the current one included).
function wholeMinute(t) {
  return Math.ceil(t / 60e3) * 60;
}

// lastHourTraffic is the instance's traffic over the last hour of server
// time, one point a minute, or null when the data plane recorded none.
async function lastHourTraffic(id) {
  const end = wholeMinute(serverNow());
  const r = await rpc('DescribePortFlowList', { 'InstanceIds.1': id, StartTime: end - 3600, EndTime: end, Interval: 60 });
  const list = r.PortFlowList || [];
  return list.some((p) => p.InBps || p.OutBps) ? list : null;
}

// releaseDialog asks the user to confirm that traffic is back on the
// origin before ReleaseInstance, showing the last hour's traffic.
async function releaseDialog(id) {
  const traffic = h('div', { class: 'traffic' }, h('p', {}, 'Reading the last hour\'s traffic…'));
  const confirm = h('input', { type: 'checkbox', name: 'confirm', id: 'release-confirm', required: true });
  const { submit } = dialog(`Release ${id}`, [
    h('p', {}, 'Releasing deletes the instance with its port and website rules and returns its IP. ',
      'Anything still pointing at its IP stops working.'),
    traffic,
    h('label', { class: 'check', for: 'release-confirm' }, confirm,
      'Traffic is back on the origin: nothing uses this instance any more.'),
  ], 'Release', async (data, d) => {
    await busy('Calling ReleaseInstance', () => rpc('ReleaseInstance', { InstanceId: id }));
    d.close();
    go('#/instance/' + encodeURIComponent(id), `${id} released.`);
  }, { danger: true, submitDisabled: true });
  confirm.addEventListener('change', () => { submit.disabled = !confirm.checked; });
  try {
    const list = await busy('Calling DescribePortFlowList', () => lastHourTraffic(id));
    if (list) {
      const peak = Math.max(...list.map((p) => Math.max(p.InBps, p.OutBps)));
      traffic.replaceChildren(h('p', {}, `Traffic went through this instance in the last hour (peak ${fmtRate(peak, 'bps')}):`),
        chart('Traffic in the last hour', [
          { name: 'in (bps)', values: list.map((p) => p.InBps) },
          { name: 'out (bps)', values: list.map((p) => p.OutBps) }], 'bps'));
    } else {
      traffic.replaceChildren(h('p', {}, 'No traffic went through this instance in the last hour (or the data plane has no data).'));
    }
  } catch (err) {
    traffic.replaceChildren(h('p', {}, 'The last hour\'s traffic could not be read.'));
    showError(err);
  }
}

// viewRelease opens the release dialog over the instance's page; it is
// how a link (or a user without the button) reaches the release.
async function viewRelease(view, [id]) {
  await viewInstance(view, [id]);
  await releaseDialog(id);
}

// ---- chart ----

// chart draws series of equal length as polylines in plain SVG, with the
// maximum on the y axis; the label describes it for screen readers.
function chart(title, series, unit) {
  const W = 600, H = 150, L = 64, B = 10, T = 10;
  const n = Math.max(...series.map((s) => s.values.length), 2);
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i) => L + (i * (W - L - 8)) / (n - 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const summary = series.map((s) => `${s.name} peak ${fmtRate(Math.max(0, ...s.values), unit)}`).join(', ');
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${summary}` },
    [0, 0.5, 1].map((f) => [
      svg('line', { class: 'grid', x1: L, x2: W - 8, y1: y(max * f), y2: y(max * f) }),
      svg('text', { class: 'axis', x: 2, y: y(max * f) + 4 }, fmtRate(max * f, unit))]),
    series.map((s, k) => svg('polyline', { class: 'c' + k, points: s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') })));
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), g,
    h('div', { class: 'legend', 'aria-hidden': 'true' }, series.map((s, k) => h('span', { class: 'k' + k }, s.name))));
}

// ---- one instance ----

async function findInstance(id) {
  const r = await rpc('DescribeInstances', { PageNumber: 1, PageSize: 1, 'InstanceIds.1': id });
  if (r.Instances.length) return r.Instances[0];
  // Not listed: released (InstanceStatus 4) or unknown (InstanceNotFound).
  const st = await rpc('DescribeInstanceStatus', { InstanceId: id, ProductType: S.region === 'ap-southeast-1' ? 2 : 1 });
  return { InstanceId: id, released: st.InstanceStatus === 4, Status: st.InstanceStatus };
}

async function viewInstance(view, [id]) {
  const body = h('div');
  view.append(h('p', {}, h('a', { href: '#/instances' }, '← Instances')), h('h1', {}, id), body);
  focusHeading(view);
  const inst = await busy('Calling DescribeInstances', async () => {
    await syncClock();
    return findInstance(id);
  });
  const st = stateOf(inst);
  const reload = () => route();
  body.append(
    h('section', { class: 'card', 'aria-label': 'Summary' },
      h('dl', { class: 'summary' },
        h('dt', {}, 'State'), h('dd', { class: 'state ' + st.cls, id: 'instance-state', 'data-state': st.key }, st.words),
        inst.released ? null : [
          h('dt', {}, 'IP'), h('dd', {}, inst.Ip),
          h('dt', {}, 'Remark'), h('dd', {}, inst.Remark || '—'),
          h('dt', {}, 'Expires'), h('dd', {}, fmtTime(inst.ExpireTime)),
          h('dt', {}, 'Created'), h('dd', {}, fmtTime(inst.CreateTime)),
          h('dt', {}, 'Edition'), h('dd', {}, String(inst.Edition))]),
      h('div', { class: 'actions', style: null }, actionButtons(inst, reload))));
  if (inst.released) {
    body.append(await eventsSection(id));
    return;
  }
  const sections = await Promise.allSettled([
    rulesSection(inst, reload), websitesSection(id), chartsSection(id), eventsSection(id)]);
  for (const s of sections) {
    if (s.status === 'fulfilled') body.append(s.value);
    else showError(s.reason);
  }
}

async function rulesSection(inst, reload) {
  const id = inst.InstanceId;
  const r = await busy('Calling DescribeNetworkRules', () => rpc('DescribeNetworkRules', { InstanceId: id, PageNumber: 1, PageSize: 50 }));
  const rows = (r.NetworkRules || []).map((rule) => h('tr', {},
    h('td', { 'data-label': 'Protocol' }, rule.Protocol),
    h('td', { 'data-label': 'Port' }, String(rule.FrontendPort)),
    h('td', { 'data-label': 'Origin port' }, String(rule.BackendPort)),
    h('td', { 'data-label': 'Origins' }, (rule.RealServers || []).join(', ')),
    h('td', { 'data-label': 'Actions' }, h('button', {
      type: 'button', class: 'secondary', 'aria-label': `Delete rule ${rule.Protocol} ${rule.FrontendPort}`,
      onclick: async () => {
        clearMessages();
        try {
          const p = { InstanceId: id, FrontendProtocol: rule.Protocol, FrontendPort: rule.FrontendPort, BackendPort: rule.BackendPort };
          (rule.RealServers || []).forEach((s, i) => { p[`RealServers.${i + 1}`] = s; });
          await busy('Calling DeletePort', () => rpc('DeletePort', p));
          await reload();
          notice(`Rule ${rule.Protocol}/${rule.FrontendPort} deleted.`);
        } catch (err) {
          showError(err);
        }
      },
    }, 'Delete'))));
  const form = h('form', { class: 'row', 'aria-label': 'Add a port rule' },
    field('Protocol', select('proto', [['tcp', 'TCP'], ['udp', 'UDP']], 'tcp')),
    field('Port', h('input', { type: 'number', name: 'port', min: 1, max: 65535, required: true })),
    field('Origin port', h('input', { type: 'number', name: 'backend', min: 1, max: 65535, required: true })),
    field('Origins', text('servers', { required: true, placeholder: '203.0.113.10, 203.0.113.11' }), '(comma-separated)'),
    h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Add rule')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearMessages();
    const d = new FormData(form);
    const p = { InstanceId: id, FrontendProtocol: d.get('proto'), FrontendPort: d.get('port'), BackendPort: d.get('backend') };
    String(d.get('servers')).split(/[\s,]+/).filter(Boolean).forEach((s, i) => { p[`RealServers.${i + 1}`] = s; });
    try {
      await busy('Calling CreatePort', () => rpc('CreatePort', p));
      await reload();
      notice('Rule added.');
    } catch (err) {
      showError(err);
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'rules-h' }, h('h2', { id: 'rules-h' }, `Port rules (${r.TotalCount})`),
    rows.length ? h('table', { class: 'cards', 'aria-label': 'Port rules' },
      h('thead', {}, h('tr', {}, ['Protocol', 'Port', 'Origin port', 'Origins', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)) : h('p', {}, 'No port rules.'),
    form);
}

async function websitesSection(id) {
  const r = await busy('Calling DescribeDomainResource', () => rpc('DescribeDomainResource', { 'InstanceIds.1': id, PageNumber: 1, PageSize: 50 }));
  const rows = (r.WebRules || []).map((w) => h('tr', {},
    h('td', { 'data-label': 'Domain' }, w.Domain),
    h('td', { 'data-label': 'CNAME' }, w.Cname),
    h('td', { 'data-label': 'Protocols' }, (w.ProxyTypes || []).map((p) => `${p.ProxyType} ${(p.ProxyPorts || []).join(',')}`).join('; ')),
    h('td', { 'data-label': 'Origins' }, (w.RealServers || []).join(', '))));
  return h('section', { class: 'card', 'aria-labelledby': 'web-h' }, h('h2', { id: 'web-h' }, `Websites (${r.TotalCount})`),
    rows.length ? h('table', { class: 'cards', 'aria-label': 'Websites' },
      h('thead', {}, h('tr', {}, ['Domain', 'CNAME', 'Protocols', 'Origins'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)) : h('p', {}, 'No websites.'));
}

// chartsSection draws traffic (DescribePortFlowList) and connections
// (DescribePortConnsList) over a chosen span of server time.
async function chartsSection(id) {
  const out = h('div');
  const span = select('span', [['1', 'last hour'], ['6', 'last 6 hours'], ['24', 'last 24 hours']], '1');
  const sec = h('section', { class: 'card', 'aria-labelledby': 'charts-h' }, h('h2', { id: 'charts-h' }, 'Traffic and connections'),
    field('Span', span), out);
  const draw = async () => {
    const hours = Number(span.value);
    const end = wholeMinute(serverNow());
    const p = { 'InstanceIds.1': id, StartTime: end - hours * 3600, EndTime: end, Interval: hours * 60 };
    const [flow, conns] = await busy('Calling DescribePortFlowList and DescribePortConnsList', () => Promise.all([
      rpc('DescribePortFlowList', p), rpc('DescribePortConnsList', p)]));
    const fl = flow.PortFlowList || [];
    const cl = conns.ConnsList || [];
    const quiet = (list, keys) => !list.some((x) => keys.some((k) => x[k]));
    out.replaceChildren(
      quiet(fl, ['InBps', 'OutBps', 'AttackBps']) ? h('p', {}, 'No traffic recorded in this span.') : null,
      !quiet(fl, ['InBps', 'OutBps', 'AttackBps']) ? chart('Traffic (bits per second)', [
        { name: 'in', values: fl.map((x) => x.InBps) }, { name: 'out', values: fl.map((x) => x.OutBps) },
        { name: 'attack', values: fl.map((x) => x.AttackBps) }], 'bps') : null,
      quiet(cl, ['ActConns', 'InActConns', 'Cps']) ? h('p', {}, 'No connections recorded in this span.') : null,
      !quiet(cl, ['ActConns', 'InActConns', 'Cps']) ? chart('Connections', [
        { name: 'active', values: cl.map((x) => x.ActConns) }, { name: 'inactive', values: cl.map((x) => x.InActConns) },
        { name: 'new per second', values: cl.map((x) => x.Cps) }], '') : null);
  };
  span.addEventListener('change', () => draw().catch(showError));
  await draw();
  return sec;
}

const EVENT_WORDS = {
  created: 'created', expired: 'expired: mitigation off', forwarding_stopped: 'forwarding stopped',
  released: 'released', renewed: 'renewed', auto_renewed: 'renewed automatically', modified: 'modified',
};

async function eventsSection(id) {
  const sec = h('section', { class: 'card', 'aria-labelledby': 'events-h' }, h('h2', { id: 'events-h' }, 'Events'));
  if (!S.adminToken) {
    sec.append(h('p', {}, 'Sign in with the admin token as well to see the instance\'s event timeline.'));
    return sec;
  }
  const r = await busy('Reading events', () => admin('GET', 'events?InstanceId=' + encodeURIComponent(id)));
  sec.append(r.Events.length ? h('ol', { class: 'timeline', 'aria-label': 'Event timeline' }, r.Events.map((e) => h('li', { 'data-type': e.Type },
    h('strong', {}, EVENT_WORDS[e.Type] || e.Type.replaceAll('_', ' ')), ' ', h('time', { datetime: e.Time }, fmtTime(Date.parse(e.Time))),
    e.Reason ? h('span', { class: 'hint' }, ` · ${e.Reason}`) : '',
    e.RequestId ? h('span', { class: 'hint' }, ` · RequestId ${e.RequestId}`) : ''))) : h('p', {}, 'No events.'));
  return sec;
}

// ---- admin ----

// adminForm is one admin action: fields, a button, and its answer shown
// as JSON below (secrets appear only there, once).
function adminForm(title, fields, label, call) {
  const result = h('pre', { class: 'result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', 'aria-label': title }, h('h2', {}, title), h('div', { class: 'row' }, fields),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, label)), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearMessages();
    result.textContent = '';
    try {
      const out = await busy(title, () => call(new FormData(form), form));
      if (out !== undefined) result.textContent = JSON.stringify(out, null, 2);
    } catch (err) {
      showError(err);
    }
  });
  return form;
}

function v(data, name) {
  return String(data.get(name) || '').trim();
}

function path(...parts) {
  return parts.map(encodeURIComponent).join('/');
}

async function viewAdmin(view) {
  view.append(h('h1', {}, 'Admin'));
  focusHeading(view);
  if (!S.adminToken) {
    view.append(h('p', {}, 'Sign in with the admin token to manage accounts, keys, the clock, events and the audit log.'));
    return;
  }
  const clockOut = h('p', { id: 'clock-now', 'aria-live': 'polite' });
  const showClock = (c) => {
    S.offsetMs = Date.parse(c.Now) - Date.now();
    clockOut.textContent = `Server time ${fmtTime(Date.parse(c.Now))} (offset ${c.Offset}).`;
  };
  const events = h('div');
  const audit = h('div');
  view.append(
    h('section', { class: 'card', 'aria-labelledby': 'clock-h' }, h('h2', { id: 'clock-h' }, 'Server clock'), clockOut),
    adminForm('Move the clock', [field('Advance by', text('advance', { placeholder: '25h' }), '(a Go duration, may be negative)'),
      field('Or set to', text('set', { placeholder: '2027-01-01T00:00:00Z' }), '(RFC 3339)')], 'Move clock', async (d) => {
      const body = v(d, 'set') ? { Set: v(d, 'set') } : { Advance: v(d, 'advance') };
      const c = await admin('POST', 'clock', body);
      showClock(c);
      return c;
    }),
    adminForm('Create instances', [field('Count', h('input', { type: 'number', name: 'count', min: 1, max: 10000, value: 1 })),
      field('Expire in', text('expireIn', { value: '720h' })), field('Remark', text('remark')),
      field('Region', select('region', [['cn-hangzhou', 'cn-hangzhou'], ['ap-southeast-1', 'ap-southeast-1']], S.region)),
      field('Owner AccessKeyId', text('owner'), '(empty: the bootstrap account)')], 'Create', async (d) => {
      const r = await admin('POST', 'instances', { Count: Number(v(d, 'count')), ExpireIn: v(d, 'expireIn'), Remark: v(d, 'remark'), RegionId: v(d, 'region'), AccessKeyId: v(d, 'owner') || undefined });
      return { Instances: r.Instances.map((i) => i.InstanceId) };
    }),
    h('h2', {}, 'Accounts and keys'),
    h('div', { class: 'grid2' },
      adminForm('Create account', [field('AccountId', text('account')), field('AccessKeyId', text('keyId')),
        field('AccessKeySecret', h('input', { type: 'password', name: 'secret', autocomplete: 'off' }))], 'Create account',
      (d) => admin('POST', 'accounts', { AccountId: v(d, 'account'), AccessKeyId: v(d, 'keyId'), AccessKeySecret: v(d, 'secret') })),
      adminForm('Create RAM user', [field('AccountId', text('account')), field('UserName', text('user'))], 'Create user',
        (d) => admin('POST', `accounts/${path(v(d, 'account'))}/users`, { UserName: v(d, 'user') })),
      adminForm('Create user AccessKey', [field('AccountId', text('account')), field('UserName', text('user'))], 'Create key',
        (d) => admin('POST', `accounts/${path(v(d, 'account'), 'users', v(d, 'user'), 'access-keys')}`)),
      adminForm('Attach policy', [field('AccountId', text('account')), field('UserName', text('user')), field('PolicyName', text('policy')),
        field('Policy document', h('textarea', { name: 'document', spellcheck: 'false' },
          '{"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-ddoscoo:Describe*","Resource":"*"}]}'))], 'Attach policy',
      (d) => admin('PUT', `accounts/${path(v(d, 'account'), 'users', v(d, 'user'), 'policies', v(d, 'policy'))}`, String(d.get('document')))),
      adminForm('Detach policy', [field('AccountId', text('account')), field('UserName', text('user')), field('PolicyName', text('policy'))], 'Detach policy',
        (d) => admin('DELETE', `accounts/${path(v(d, 'account'), 'users', v(d, 'user'), 'policies', v(d, 'policy'))}`)),
      adminForm('Issue STS credentials', [field('AccountId', text('account')), field('UserName', text('user')),
        field('Duration (seconds)', h('input', { type: 'number', name: 'duration', min: 900, max: 43200, value: 3600 })),
        field('Narrowing policy', h('textarea', { name: 'policy', spellcheck: 'false' }), '(optional)')], 'Issue',
      (d) => admin('POST', `accounts/${path(v(d, 'account'), 'users', v(d, 'user'), 'sts')}`,
        { DurationSeconds: Number(v(d, 'duration')), Policy: v(d, 'policy') || undefined })),
      adminForm('AccessKey status', [field('AccessKeyId', text('keyId')),
        field('Status', select('status', [['Active', 'Active'], ['Inactive', 'Inactive'], ['Deleted', 'Deleted (cannot be undone)']], 'Inactive'))], 'Apply',
      (d) => v(d, 'status') === 'Deleted'
        ? admin('DELETE', `access-keys/${path(v(d, 'keyId'))}`)
        : admin('PATCH', `access-keys/${path(v(d, 'keyId'))}`, { Status: v(d, 'status') }))),
    eventsBrowser(events),
    auditBrowser(audit));
  showClock(await busy('Reading the clock', () => admin('GET', 'clock')));
}

function eventsBrowser(out) {
  const form = adminForm('Events', [field('InstanceId', text('instance')),
    field('Type', select('type', [['', 'any'], ...Object.keys(EVENT_WORDS).map((k) => [k, k])], '')),
    field('After Seq', h('input', { type: 'number', name: 'after', min: 0 })),
    field('Limit', h('input', { type: 'number', name: 'limit', min: 1, max: 100000, value: 200 }))], 'Show events', async (d) => {
    const q = new URLSearchParams();
    if (v(d, 'instance')) q.set('InstanceId', v(d, 'instance'));
    if (v(d, 'type')) q.set('Type', v(d, 'type'));
    if (v(d, 'after')) q.set('After', v(d, 'after'));
    q.set('Limit', v(d, 'limit') || '200');
    const r = await admin('GET', 'events?' + q);
    out.replaceChildren(table('Events', ['Seq', 'Time', 'Instance', 'Type', 'Account', 'RequestId', 'Reason'],
      r.Events.map((e) => [e.Seq, fmtTime(Date.parse(e.Time)), e.InstanceId, e.Type, e.AccountId, e.RequestId || '', e.Reason || ''])));
  });
  form.append(out);
  return form;
}

function auditBrowser(out) {
  const form = adminForm('Audit log', [field('AccountId', text('account')), field('Action', text('action'), '(e.g. ReleaseInstance)'),
    field('InstanceId', text('instance')), field('After Seq', h('input', { type: 'number', name: 'after', min: 0 })),
    field('Limit', h('input', { type: 'number', name: 'limit', min: 1, max: 100000, value: 200 }))], 'Show audit log', async (d, f) => {
    const q = new URLSearchParams();
    for (const [k, name] of [['AccountId', 'account'], ['Action', 'action'], ['InstanceId', 'instance'], ['After', 'after']]) {
      if (v(d, name)) q.set(k, v(d, name));
    }
    q.set('Limit', v(d, 'limit') || '200');
    const r = await admin('GET', 'audit?' + q);
    const recs = r.Records;
    out.replaceChildren(table('Audit records', ['Seq', 'Time', 'Account', 'Principal', 'Source IP', 'Action', 'Resources', 'Code', 'RequestId'],
      recs.map((a) => [a.Seq, fmtTime(Date.parse(a.Time)), a.AccountId, a.Principal, a.SourceIp, a.Action, (a.Resources || []).join(' '), a.Code, a.RequestId])),
    recs.length ? h('button', { type: 'button', class: 'secondary', onclick: () => {
      f.elements.after.value = recs[recs.length - 1].Seq;
      f.requestSubmit();
    } }, 'Next page') : null);
  });
  form.append(out);
  return form;
}

// ---- webhooks ----

const NOTICE_TYPES = ['expiring', 'expired', 'forwarding_stopped', 'renewed', 'released', 'attack'];

// webhooksHash is the webhooks page of an account.
function webhooksHash(account) {
  return '#/webhooks/' + encodeURIComponent(account);
}

// viewWebhooks: pick an account, list its webhooks (each with its
// delivery log and a delete button), and create one.
async function viewWebhooks(view, [account = S.hookAccount || '']) {
  view.append(h('h1', {}, 'Webhooks'));
  focusHeading(view);
  if (!S.adminToken) {
    view.append(h('p', {}, 'Sign in with the admin token to manage webhooks.'));
    return;
  }
  const pick = h('form', { class: 'card filters', 'aria-label': 'Account' },
    h('div', { class: 'row' }, field('AccountId', text('account', { value: account, required: true }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show webhooks')));
  pick.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(webhooksHash(v(new FormData(pick), 'account')));
  });
  view.append(pick);
  if (!account) return;
  S.hookAccount = account;

  const r = await busy('Listing webhooks', () => admin('GET', `accounts/${path(account)}/webhooks`));
  const hooks = r.Webhooks || [];
  const list = h('section', { class: 'card', 'aria-labelledby': 'hooks-h' }, h('h2', { id: 'hooks-h' }, `Webhooks of ${account} (${hooks.length})`));
  if (!hooks.length) {
    list.append(h('p', {}, 'No webhooks.'));
  } else {
    const cols = ['Webhook', 'URL', 'Events', 'Created', ''];
    list.append(h('table', { class: 'cards', 'aria-label': 'Webhooks' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, hooks.map((w) => h('tr', { 'data-webhook': w.WebhookId },
        h('td', { 'data-label': 'Webhook' }, h('a', { href: '#/webhook/' + path(account, w.WebhookId), 'aria-label': `Delivery log of ${w.WebhookId}` }, w.WebhookId)),
        h('td', { 'data-label': 'URL', class: 'wrap' }, w.Url),
        h('td', { 'data-label': 'Events' }, (w.Events || []).join(', ').replace(/^\*$/, 'all (*)')),
        h('td', { 'data-label': 'Created' }, fmtTime(Date.parse(w.CreateTime))),
        h('td', { 'data-label': 'Actions', class: 'actions' },
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${w.WebhookId}`, onclick: () => deleteWebhookDialog(account, w) }, 'Delete')))))));
  }
  view.append(list, createWebhookForm(account));
}

// createWebhookForm: Url, Events (checkboxes; "all" stands for every
// type, present and future, and turns the others off) and Secret.
function createWebhookForm(account) {
  const all = h('input', { type: 'checkbox', name: 'events', value: '*', id: 'ev-all' });
  const boxes = NOTICE_TYPES.map((t) => h('input', { type: 'checkbox', name: 'events', value: t, id: 'ev-' + t }));
  const sync = () => boxes.forEach((b) => { b.disabled = all.checked; });
  all.addEventListener('change', sync);
  const events = h('fieldset', { class: 'checks' }, h('legend', {}, 'Events'),
    h('div', { class: 'check' }, all, h('label', { for: all.id }, 'All events (*)')),
    boxes.map((b) => h('div', { class: 'check' }, b, h('label', { for: b.id }, b.value))));
  const form = h('form', { class: 'card', 'aria-label': 'Create a webhook' }, h('h2', {}, 'Create a webhook'),
    h('div', { class: 'row' },
      field('Url', h('input', { type: 'url', name: 'url', required: true, autocomplete: 'off', spellcheck: 'false' }), '(an absolute http or https URL)'),
      field('Secret', h('input', { type: 'password', name: 'secret', required: true, autocomplete: 'off', maxlength: 256 }), '(signs every delivery; not shown again)')),
    events,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create webhook')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearMessages();
    const d = new FormData(form);
    const chosen = all.checked ? ['*'] : d.getAll('events').map(String);
    try {
      const w = await busy('Creating the webhook', () => admin('POST', `accounts/${path(account)}/webhooks`,
        { Url: v(d, 'url'), Events: chosen, Secret: String(d.get('secret') || '') }));
      go(webhooksHash(account), `Webhook ${w.WebhookId} created.`);
    } catch (err) {
      showError(err);
    }
  });
  return form;
}

function deleteWebhookDialog(account, w) {
  dialog(`Delete ${w.WebhookId}`, h('p', {}, `Deliveries to ${w.Url} stop, and its delivery log, pending deliveries included, is deleted.`),
    'Delete', async () => {
      await busy('Deleting the webhook', () => admin('DELETE', `webhooks/${path(w.WebhookId)}`));
      go(webhooksHash(account), `Webhook ${w.WebhookId} deleted.`);
    }, { danger: true });
}

// viewWebhook is a webhook's delivery log, the newest first.
async function viewWebhook(view, [account, id]) {
  view.append(h('p', {}, h('a', { href: webhooksHash(account) }, '← Webhooks of ' + account)), h('h1', {}, 'Delivery log of ' + id));
  focusHeading(view);
  if (!S.adminToken) return;
  const r = await busy('Reading the delivery log', () => admin('GET', `webhooks/${path(id)}/deliveries?Limit=200`));
  const ds = r.Deliveries || [];
  const cols = ['Event', 'Type', 'Status', 'Attempts', 'Created', 'Last attempt', 'Last HTTP status', 'Last error', 'Next attempt'];
  view.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => route() }, 'Refresh')),
    ds.length ? h('table', { class: 'cards', 'aria-label': 'Deliveries' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ds.map((d) => h('tr', { 'data-event': d.EventId, 'data-type': d.Type, 'data-status': d.Status },
        h('td', { 'data-label': 'Event' }, d.EventId),
        h('td', { 'data-label': 'Type' }, d.Type),
        h('td', { 'data-label': 'Status', class: 'status status-' + d.Status }, d.Status),
        h('td', { 'data-label': 'Attempts' }, String(d.Attempts)),
        h('td', { 'data-label': 'Created' }, fmtTime(Date.parse(d.CreateTime))),
        h('td', { 'data-label': 'Last attempt' }, d.LastAttempt ? fmtTime(Date.parse(d.LastAttempt)) : '—'),
        h('td', { 'data-label': 'Last HTTP status' }, d.LastStatus ? String(d.LastStatus) : '—'),
        h('td', { 'data-label': 'Last error', class: 'wrap' }, d.LastError || '—'),
        h('td', { 'data-label': 'Next attempt' }, d.NextAttempt ? fmtTime(Date.parse(d.NextAttempt)) : '—'))))) : h('p', {}, 'No deliveries yet.'));
}

function table(label, cols, rows) {
  if (!rows.length) return h('p', {}, 'Nothing found.');
  return h('table', { class: 'cards', 'aria-label': label },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { 'data-label': cols[i] }, String(c)))))));
}

// ---- start ----

$('#signout').addEventListener('click', () => {
  S.creds = null;
  S.adminToken = '';
  S.hookAccount = '';
  S.offsetMs = 0;
  S.canRelease = true;
  S.filters = {};
  S.page = 1;
  whoAmI();
  if (location.hash === '#/signin') route();
  else location.hash = '#/signin';
});
window.addEventListener('hashchange', route);
whoAmI();
route();
