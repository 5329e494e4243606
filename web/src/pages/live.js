// The live connection: subscribes, keeps the newest sequence number, reconnects with
// `since` after a drop (backing off up to 10 s), drops duplicates, and asks for a fresh
// snapshot when the server says `resync_required`.
export function connectLive({ topics, onSnapshot, onEvent, onState }) {
  let lastSeq = null;
  let ws = null;
  let retry = 500;
  let stopped = false;

  function open() {
    onState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${scheme}//${location.host}/ws`);
    ws.addEventListener('open', () => {
      const msg = { op: 'subscribe', topics };
      if (lastSeq !== null) msg.since = lastSeq;
      ws.send(JSON.stringify(msg));
    });
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(ev.data);
      if (typeof m.seq === 'number') {
        if (lastSeq !== null && m.seq <= lastSeq) return; // seen already
        lastSeq = m.seq;
        onEvent(m);
      } else if (m.type === 'snapshot') {
        lastSeq = Math.max(lastSeq ?? 0, m.last_seq);
        onSnapshot(m.data);
      } else if (m.type === 'subscribed') {
        if (lastSeq === null) lastSeq = m.last_seq;
        retry = 500;
        onState('live');
      } else if (m.type === 'resync_required') {
        lastSeq = null; // start over from a snapshot
        ws.close();
      } else if (m.type === 'error') {
        console.warn('live:', m.error);
      }
    });
    ws.addEventListener('close', () => {
      if (stopped) return;
      onState('reconnecting');
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 10000);
    });
  }
  open();
  return { close() { stopped = true; ws?.close(); } };
}
