export { callbackVerifier, DEFAULT_MAX_BODY_BYTES, type CallbackVerifierEnv } from "./callback-verifier.js";
export { CallbackVerificationError, type CallbackVerificationCode } from "./callback-verification-error.js";
export { nodeCallbackHandler, type NodeCallbackRequest } from "./node-callback-handler.js";
export { isRelayEvent, type RelayEvent, type RelayEventType } from "./relay-event.js";
export { verifyCallback, type CallbackHeaders, type CallbackSecrets, type RawBody } from "./verify-callback.js";
