import { z } from '@hono/zod-openapi';

export const PhotoSchema = z
  .object({
    id: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    urls: z.object({ thumb: z.string(), small: z.string(), large: z.string() }),
  })
  .openapi('Photo');

export type Photo = z.infer<typeof PhotoSchema>;
