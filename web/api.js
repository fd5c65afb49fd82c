// The page's only way to the server: GETs of the documented /api/v1/ and its live event stream,
// with the header's indicators they keep up to date.

// Relative to the page, not to this module: fetch and EventSource resolve URLs against the
// document's address (the modules themselves are served under /assets/<hash>/).
const API = 'api/v1/';

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the server answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** GETs /api/v1/<path> with the given query, returning the JSON body; throws ApiError. */
export async function api(path, params, signal) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  let response;
  try {
    response = await fetch(API + path + (text ? `?${text}` : ''), { signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { error: 'the xrun ui server cannot be reached' });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export function fileUrl(run, path) {
  return `${API}file?${new URLSearchParams({ run, path })}`;
}

// The live event stream: each view opens its own and closes it when it goes.

let liveSource = null;

function setLiveState(text, title, on) {
  const node = document.getElementById('live-state');
  node.textContent = text;
  node.title = title;
  node.classList.toggle('on', !!on);
}

/** Opens /api/v1/events for the view (closed when the view goes); `handlers` by event type. */
export function listen(ctx, runs, handlers) {
  const query = runs && runs.length ? `?${new URLSearchParams({ runs: runs.join(',') })}` : '';
  const source = new EventSource(`${API}events${query}`);
  liveSource = source;
  for (const [type, handler] of Object.entries(handlers)) {
    source.addEventListener(type, (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (ctx.alive) handler(data);
    });
  }
  source.onopen = () => setLiveState('● live', 'Receiving changes as they happen', true);
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setLiveState('○ not live', 'The event stream was refused; reload the page to retry');
    } else {
      setLiveState('○ reconnecting', 'The event stream was interrupted');
    }
  };
  ctx.onCleanup(() => {
    source.close();
    if (liveSource === source) setLiveState('', '');
  });
}

export function setArchiveTotal(total) {
  if (typeof total === 'number') {
    document.getElementById('archive-info').textContent =
      `${total.toLocaleString()} run${total === 1 ? '' : 's'} in the archive`;
  }
}
