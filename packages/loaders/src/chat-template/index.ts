/** Chat templates: resolve a model's template and render conversations with Hugging Face transformers' rules. */
export {
  type ChatMessage,
  ChatTemplate,
  type ChatTemplateClock,
  type ChatTemplateOptions,
  type ChatTemplateRenderOptions,
} from './chat-template.js';
export {
  type LoadChatTemplateOptions,
  loadChatTemplate,
  type ModelChatTemplate,
  specialTokenText,
} from './model-chat-template.js';
export type { TemplateErrorKind } from './python-semantics.js';
export { type ChatTemplateLimit, type ChatTemplateLimits, DEFAULT_CHAT_TEMPLATE_LIMITS } from './render-budget.js';
export {
  type ChatTemplateOrigin,
  type ChatTemplateSources,
  type ResolvedChatTemplate,
  resolveChatTemplate,
} from './resolve-chat-template.js';
export { strftime } from './strftime.js';
