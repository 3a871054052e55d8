// Reads {"input": JWS signing input, "sig": r‖s hex, "pub": "04"‖x‖y hex, "id": distinguishing
// ID} lines on stdin and prints "ok" or "bad" for each: sm-crypto's SM2 verification with
// SM3 (its Z hashes the given ID), an implementation that shares no code with OpenSSL.
import { createInterface } from 'node:readline';
import smCrypto from 'sm-crypto';

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const q = JSON.parse(line);
  const ok = smCrypto.sm2.doVerifySignature(q.input, q.sig, q.pub, { hash: true, userId: q.id });
  console.log(ok ? 'ok' : 'bad');
}
