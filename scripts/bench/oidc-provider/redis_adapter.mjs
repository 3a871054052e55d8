// oidc-provider's Redis adapter: the example its documentation points to for more than one
// process (example/adapters/redis.js of node-oidc-provider), as an ES module, with
// lodash's isEmpty written out. One ioredis connection per process; keys under "oidc:".
import Redis from 'ioredis';

let client;
export function connect(url) {
  client = new Redis(url, { keyPrefix: 'oidc:' });
  return client;
}

const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const grantKeyFor = (id) => `grant:${id}`;
const userCodeKeyFor = (userCode) => `userCode:${userCode}`;
const uidKeyFor = (uid) => `uid:${uid}`;
const isEmpty = (v) => v == null || (typeof v === 'object' && Object.keys(v).length === 0) || v === '';

export default class RedisAdapter {
  constructor(name) {
    this.name = name;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const store = consumable.has(this.name) ? { payload: JSON.stringify(payload) } : JSON.stringify(payload);
    const multi = client.multi();
    multi[consumable.has(this.name) ? 'hmset' : 'set'](key, store);
    if (expiresIn) multi.expire(key, expiresIn);
    if (payload.grantId) {
      const grantKey = grantKeyFor(payload.grantId);
      multi.rpush(grantKey, key);
      const ttl = await client.ttl(grantKey);
      if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
    }
    if (payload.userCode) {
      const userCodeKey = userCodeKeyFor(payload.userCode);
      multi.set(userCodeKey, id);
      multi.expire(userCodeKey, expiresIn);
    }
    if (payload.uid) {
      const uidKey = uidKeyFor(payload.uid);
      multi.set(uidKey, id);
      multi.expire(uidKey, expiresIn);
    }
    await multi.exec();
  }

  async find(id) {
    const data = consumable.has(this.name) ? await client.hgetall(this.key(id)) : await client.get(this.key(id));
    if (isEmpty(data)) return undefined;
    if (typeof data === 'string') return JSON.parse(data);
    const { payload, ...rest } = data;
    return { ...rest, ...JSON.parse(payload) };
  }

  async findByUid(uid) {
    const id = await client.get(uidKeyFor(uid));
    return this.find(id);
  }

  async findByUserCode(userCode) {
    const id = await client.get(userCodeKeyFor(userCode));
    return this.find(id);
  }

  async destroy(id) {
    await client.del(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const multi = client.multi();
    const tokens = await client.lrange(grantKeyFor(grantId), 0, -1);
    tokens.forEach((token) => multi.del(token));
    multi.del(grantKeyFor(grantId));
    await multi.exec();
  }

  async consume(id) {
    await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }

  key(id) {
    return `${this.name}:${id}`;
  }
}
