/** Colours as [r, g, b] in 0..1 (sRGB), and the few operations the palette needs. */

export type Rgb = readonly [number, number, number];

export function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

export function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = clamp01((x - edge0) / (edge1 - edge0));
  return t * t * (3 - 2 * t);
}

/** Hue in degrees (any value, wrapped), saturation and lightness in 0..1. */
export function hsl(hue: number, saturation: number, lightness: number): Rgb {
  const h = (((hue % 360) + 360) % 360) / 360;
  const s = clamp01(saturation);
  const l = clamp01(lightness);
  if (s === 0) return [l, l, l];
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  return [hueToChannel(p, q, h + 1 / 3), hueToChannel(p, q, h), hueToChannel(p, q, h - 1 / 3)];
}

function hueToChannel(p: number, q: number, t: number): number {
  let x = t;
  if (x < 0) x += 1;
  if (x > 1) x -= 1;
  if (x < 1 / 6) return p + (q - p) * 6 * x;
  if (x < 1 / 2) return q;
  if (x < 2 / 3) return p + (q - p) * (2 / 3 - x) * 6;
  return p;
}

/** [hue in degrees, saturation, lightness]. */
export function toHsl(color: Rgb): [number, number, number] {
  const [r, g, b] = color;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  let h: number;
  if (max === r) h = (g - b) / d + (g < b ? 6 : 0);
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  return [h * 60, s, l];
}

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function scale(color: Rgb, k: number): Rgb {
  return [color[0] * k, color[1] * k, color[2] * k];
}

/** Multiplies saturation and remaps lightness: the knob behind pastel and vivid palettes. */
export function adjust(color: Rgb, saturation: number, lightnessFrom = 0, lightnessTo = 1): Rgb {
  const [h, s, l] = toHsl(color);
  return hsl(h, s * saturation, lightnessFrom + (lightnessTo - lightnessFrom) * l);
}

/** Moves a colour's hue by `degrees`, keeping saturation and lightness. */
export function rotateHue(color: Rgb, degrees: number): Rgb {
  const [h, s, l] = toHsl(color);
  return hsl(h + degrees, s, l);
}

export function luma(color: Rgb): number {
  return color[0] * 0.2126 + color[1] * 0.7152 + color[2] * 0.0722;
}
