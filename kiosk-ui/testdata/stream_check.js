// Exercised by TestStreamClientNode (go test ./kiosk-ui) when node is on PATH.
// Drives HallStream with a fake WebSocket: snapshot, in-order events, dropped
// duplicates, gap => reconnect with since, back-off 1s→2s→4s→5s, reset on data.
"use strict";
const assert = require("assert");
const HallStream = require(process.argv[2]);

const sockets = [];
class FakeWS {
  constructor(url) { this.url = url; sockets.push(this); setTimeout(() => this.onopen && this.onopen(), 0); }
  close() { setTimeout(() => this.onclose && this.onclose(), 0); }
  send(o) { this.onmessage({ data: JSON.stringify(o) }); }
}
const tick = (ms) => new Promise((r) => setTimeout(r, ms || 5));

(async () => {
  const s = new HallStream({ url: "ws://hall/api/v1/stream", WebSocket: FakeWS, fetch: null, minDelay: 10, maxDelay: 50 });
  const seen = [];
  const statuses = [];
  s.onSnapshot((d, q) => seen.push("snap" + q))
    .onEvent((e, q) => seen.push("ev" + q))
    .onStatus((st) => statuses.push(st));
  s.connect();
  await tick();
  assert.strictEqual(sockets[0].url, "ws://hall/api/v1/stream");
  assert.strictEqual(statuses[statuses.length - 1].state, "connected");

  const a = sockets[0];
  a.send({ type: "snapshot", seq: 10, data: {} });
  a.send({ type: "event", seq: 11, event: { type: "x" } });
  a.send({ type: "event", seq: 11, event: { type: "x" } }); // duplicate: dropped
  a.send({ type: "event", seq: 13, event: { type: "x" } }); // gap: resync
  await tick();
  assert.deepStrictEqual(seen, ["snap10", "ev11"]);
  assert.strictEqual(sockets[1].url, "ws://hall/api/v1/stream?since=11");

  const b = sockets[1];
  b.send({ type: "event", seq: 12, event: {} });
  b.send({ type: "event", seq: 13, event: {} });
  b.onclose();
  const delays = [statuses[statuses.length - 1].delay];
  for (let i = 2; i <= 4; i++) {
    await tick(delays[delays.length - 1] + 15);
    assert.strictEqual(sockets[i].url, "ws://hall/api/v1/stream?since=13");
    sockets[i].onclose();
    delays.push(statuses[statuses.length - 1].delay);
  }
  assert.deepStrictEqual(delays, [10, 20, 40, 50]);

  await tick(65);
  const f = sockets[5];
  f.send({ type: "snapshot", seq: 40, data: {} }); // a fresh snapshot replaces state
  f.send({ type: "event", seq: 41, event: {} });
  f.onclose();
  assert.strictEqual(statuses[statuses.length - 1].delay, 10, "back-off resets after data");
  assert.deepStrictEqual(seen, ["snap10", "ev11", "ev12", "ev13", "snap40", "ev41"]);
  s.close();
  console.log("ok");
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
