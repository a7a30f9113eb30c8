/**
 * The two generations of the published proxy API, served side by side: the
 * seed's `/api/*` and the current `/api/v1/*` (what mump2p-cli calls). They
 * differ in the phrases their errors carry (clients match substrings) and in
 * the shape of a few answers.
 */
export interface RouteFamily {
  readonly prefix: '/api' | '/api/v1'
  readonly missing: { readonly clientId: string; readonly topic: string; readonly message: string }
  subscribed(clientId: string, topic: string, threshold: number): Record<string, unknown>
  published(status: 'published' | 'deduplicated', clientId: string, topic: string, messageId: string): Record<string, unknown>
}

export const SEED_FAMILY: RouteFamily = {
  prefix: '/api',
  missing: { clientId: 'client_id is missing', topic: 'topic is missing', message: 'message is missing' },
  subscribed: (clientId, topic, threshold) => ({ status: 'subscribed', client_id: clientId, topic, threshold }),
  published: (status, clientId, topic, messageId) => ({ status, client_id: clientId, topic, message_id: messageId }),
}

export const V1_FAMILY: RouteFamily = {
  prefix: '/api/v1',
  missing: { clientId: 'missing client ID', topic: 'missing topic', message: 'either message or message_length must be provided' },
  subscribed: (clientId, topic, threshold) => ({ status: 'subscribed', client: clientId, topic, threshold }),
  published: (status, _clientId, topic, messageId) => ({ status, topic, message_id: messageId }),
}
