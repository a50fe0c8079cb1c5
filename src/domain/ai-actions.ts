/**
 * Rendley's AI tools, each started at `POST /v1/ai/{action}` and priced at `POST /v1/ai/{action}/cost`
 * (Rendley's own clients; the reference names `transcribe`). The default of `RENDLEY_AI_ACTIONS`.
 */
export const AI_ACTIONS = [
  "transcribe",
  "text-to-speech",
  "video-translate",
  "lipsync",
  "voice-isolation",
  "voice-changer",
  "remove-video-background",
  "remove-image-background",
  "upscale-image",
  "upscale-video",
  "generate-image",
  "generate-video",
  "generate-music",
  "generate-sound-effect",
] as const;
