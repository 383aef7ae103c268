// One agent's WebSocket, opened in a dedicated worker by conn.rs. The browser turns every text
// frame into a string on the thread that owns the socket; here that is this worker, so a huge
// frame (a hostile agent's 67 MB) costs the worker, not the page. Frames over the limit are
// refused by length and the socket closed; the rest are posted to the page as they are.
//
// page → worker: {url, protocols, max} to open; {close: true} to close (the worker then ends).
// worker → page: {t: 'text', d}, {t: 'big', n}, {t: 'bin', n}, {t: 'error'},
//                {t: 'close', code, reason}, {t: 'refused', why} (the constructor threw).
'use strict';
let socket = null;
self.onmessage = (event) => {
  const order = event.data;
  if (order.close) {
    if (socket) socket.close();
    self.close();
    return;
  }
  if (socket) return;
  try {
    socket = order.protocols.length ? new WebSocket(order.url, order.protocols) : new WebSocket(order.url);
  } catch (e) {
    self.postMessage({ t: 'refused', why: String(e && e.message ? e.message : e) });
    return;
  }
  socket.binaryType = 'arraybuffer';
  let refusing = false;
  socket.onmessage = (m) => {
    if (refusing) return;
    if (typeof m.data === 'string') {
      if (m.data.length > order.max) {
        refusing = true;
        self.postMessage({ t: 'big', n: m.data.length });
        socket.close();
      } else {
        self.postMessage({ t: 'text', d: m.data });
      }
    } else {
      self.postMessage({ t: 'bin', n: m.data.byteLength || 0 });
    }
  };
  socket.onerror = () => self.postMessage({ t: 'error' });
  socket.onclose = (c) => {
    self.postMessage({ t: 'close', code: c.code, reason: c.reason });
    self.close();
  };
};
