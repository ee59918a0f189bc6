/**
 * Turns a prompt, a style and a seed into a Scene: the palette, the composition and the light.
 * Keywords pick what is in the picture ("ocean", "mountain", "city", "night", ...); the hash of
 * the whole prompt and the seed pick everything else, so each prompt gets its own picture.
 * The style never changes the composition, only its treatment, so one seed in two styles shows
 * the same place painted two ways.
 */
import { adjust, hsl, mix, type Rgb, scale } from "./color.ts";
import { hashString, mixHash, Rng } from "./rng.ts";

export const STYLE_NAMES = ["cinematic", "watercolor", "neon", "pastel", "noir", "vivid"] as const;
export type StyleName = (typeof STYLE_NAMES)[number];

export type Mood = "day" | "sunset" | "sunrise" | "night" | "storm";
export type LayerKind = "mountains" | "hills" | "dunes" | "city" | "forest";
export type Floor = "land" | "water" | "grid";

export interface Layer {
  kind: LayerKind;
  seed: number;
  /** Mean ridge line, in scene v (0 top of frame, 1 bottom). */
  base: number;
  /** How far the ridge rises above `base`, in scene v. */
  amplitude: number;
  /** Ridge features per scene unit (one unit is the frame height). */
  frequency: number;
  /** 0 far .. 1 near: parallax, haze and darkness follow it. */
  depth: number;
  color: Rgb;
  rim: Rgb;
  rimStrength: number;
  /** Mist at the layer's foot, blending into the horizon colour. */
  haze: number;
  hazeStart: number;
  hazeLength: number;
  snow: number;
  windows: number;
  /** Neon outline glow above the ridge (0 = none). */
  edgeGlow: number;
}

export interface Blob {
  x: number;
  y: number;
  radius: number;
  color: Rgb;
  driftX: number;
  driftY: number;
  phase: number;
}

/** A translucent band of colour sweeping across an abstract picture. */
export interface Ribbon {
  y: number;
  amplitude: number;
  frequency: number;
  phase: number;
  thickness: number;
  color: Rgb;
  speed: number;
}

export interface Planet {
  x: number;
  y: number;
  radius: number;
  color: Rgb;
  band: Rgb;
  ring: boolean;
}

export interface Grade {
  saturation: number;
  contrast: number;
  lift: number;
  exposure: number;
  shadowTint: Rgb;
  highlightTint: Rgb;
  vignette: number;
  vignetteColor: Rgb;
  grain: number;
  bloom: number;
  bloomThreshold: number;
  mono: boolean;
  paper: number;
  warp: number;
}

export interface Scene {
  width: number;
  height: number;
  seed: number;
  mood: Mood;
  themes: readonly string[];
  style: StyleName | undefined;
  sky: { top: Rgb; mid: Rgb; horizon: Rgb; midAt: number };
  horizon: number;
  floor: Floor;
  light: {
    kind: "sun" | "moon" | "none";
    x: number;
    y: number;
    radius: number;
    color: Rgb;
    edgeColor: Rgb;
    glow: Rgb;
    glowStrength: number;
    striped: boolean;
    /** Whether the disc itself is drawn (abstract pictures keep only its glow). */
    disc: boolean;
  };
  stars: number;
  clouds: {
    cover: number;
    scale: number;
    lit: Rgb;
    shade: Rgb;
    opacity: number;
    additive: boolean;
  };
  layers: Layer[];
  water: { shallow: Rgb; deep: Rgb; reflectivity: number; waves: number; glitter: number };
  grid: { color: Rgb; base: Rgb };
  blobs: Blob[];
  ribbons: Ribbon[];
  planet: Planet | undefined;
  grade: Grade;
  /** Video motion, per second of clip. */
  motion: {
    pan: number;
    zoom: number;
    lightDx: number;
    lightDy: number;
    cloudDrift: number;
    waveSpeed: number;
  };
}

type Hsl = readonly [number, number, number];

interface MoodPalette {
  top: Hsl;
  mid: Hsl;
  horizon: Hsl;
  light: "sun" | "moon" | "none";
  lightColor: Hsl;
  glow: Hsl;
  glowStrength: number;
  lightHeight: readonly [number, number];
  stars: number;
  cloudCover: readonly [number, number];
  cloudLit: Hsl;
  cloudShade: Hsl;
  water: Hsl;
  bodies: Record<LayerKind, Hsl>;
  windows: number;
}

const MOODS: Record<Mood, MoodPalette> = {
  day: {
    top: [214, 0.62, 0.42],
    mid: [204, 0.58, 0.66],
    horizon: [36, 0.5, 0.86],
    light: "sun",
    lightColor: [50, 1, 0.93],
    glow: [42, 0.9, 0.78],
    glowStrength: 0.45,
    lightHeight: [0.14, 0.3],
    stars: 0,
    cloudCover: [0.3, 0.55],
    cloudLit: [40, 0.4, 0.98],
    cloudShade: [214, 0.25, 0.74],
    water: [200, 0.55, 0.32],
    bodies: {
      mountains: [222, 0.22, 0.44],
      hills: [100, 0.42, 0.38],
      forest: [140, 0.4, 0.2],
      dunes: [34, 0.62, 0.62],
      city: [215, 0.16, 0.36],
    },
    windows: 0,
  },
  sunset: {
    top: [248, 0.45, 0.24],
    mid: [330, 0.5, 0.52],
    horizon: [26, 0.95, 0.62],
    light: "sun",
    lightColor: [44, 1, 0.8],
    glow: [30, 1, 0.6],
    glowStrength: 0.95,
    lightHeight: [0.05, 0.14],
    stars: 0,
    cloudCover: [0.3, 0.6],
    cloudLit: [24, 0.95, 0.7],
    cloudShade: [290, 0.35, 0.34],
    water: [260, 0.35, 0.2],
    bodies: {
      mountains: [268, 0.32, 0.22],
      hills: [300, 0.28, 0.18],
      forest: [280, 0.34, 0.1],
      dunes: [16, 0.66, 0.42],
      city: [258, 0.3, 0.14],
    },
    windows: 0.22,
  },
  sunrise: {
    top: [218, 0.5, 0.5],
    mid: [345, 0.5, 0.76],
    horizon: [42, 0.9, 0.8],
    light: "sun",
    lightColor: [48, 1, 0.88],
    glow: [38, 1, 0.72],
    glowStrength: 0.75,
    lightHeight: [0.06, 0.16],
    stars: 0,
    cloudCover: [0.25, 0.5],
    cloudLit: [34, 0.9, 0.86],
    cloudShade: [262, 0.25, 0.62],
    water: [215, 0.4, 0.38],
    bodies: {
      mountains: [248, 0.24, 0.46],
      hills: [145, 0.25, 0.4],
      forest: [165, 0.3, 0.24],
      dunes: [28, 0.6, 0.62],
      city: [232, 0.2, 0.36],
    },
    windows: 0.08,
  },
  night: {
    top: [232, 0.6, 0.05],
    mid: [228, 0.5, 0.13],
    horizon: [218, 0.42, 0.3],
    light: "moon",
    lightColor: [215, 0.3, 0.92],
    glow: [215, 0.55, 0.62],
    glowStrength: 0.38,
    lightHeight: [0.14, 0.3],
    stars: 1,
    cloudCover: [0.15, 0.4],
    cloudLit: [220, 0.22, 0.45],
    cloudShade: [230, 0.3, 0.12],
    water: [225, 0.45, 0.1],
    bodies: {
      mountains: [230, 0.34, 0.11],
      hills: [222, 0.3, 0.09],
      forest: [215, 0.35, 0.06],
      dunes: [235, 0.25, 0.2],
      city: [236, 0.35, 0.08],
    },
    windows: 0.3,
  },
  storm: {
    top: [215, 0.14, 0.28],
    mid: [210, 0.12, 0.46],
    horizon: [36, 0.2, 0.72],
    light: "sun",
    lightColor: [45, 0.4, 0.9],
    glow: [40, 0.35, 0.8],
    glowStrength: 0.3,
    lightHeight: [0.14, 0.28],
    stars: 0,
    cloudCover: [0.65, 0.85],
    cloudLit: [210, 0.1, 0.72],
    cloudShade: [215, 0.14, 0.3],
    water: [205, 0.2, 0.26],
    bodies: {
      mountains: [212, 0.12, 0.3],
      hills: [120, 0.14, 0.28],
      forest: [150, 0.16, 0.16],
      dunes: [30, 0.22, 0.45],
      city: [210, 0.08, 0.24],
    },
    windows: 0.15,
  },
};

const THEME_WORDS: Record<string, readonly string[]> = {
  water: [
    "ocean",
    "sea",
    "wave",
    "beach",
    "coast",
    "shore",
    "lake",
    "river",
    "bay",
    "harbor",
    "harbour",
    "island",
    "surf",
    "tide",
    "water",
    "reef",
    "lagoon",
    "sail",
    "boat",
    "marina",
    "pier",
    "fjord",
  ],
  mountains: [
    "mountain",
    "peak",
    "alp",
    "alps",
    "alpine",
    "summit",
    "cliff",
    "volcano",
    "canyon",
    "ridge",
    "himalaya",
    "glacier",
    "everest",
    "fjord",
  ],
  city: [
    "city",
    "skyline",
    "urban",
    "street",
    "downtown",
    "tower",
    "skyscraper",
    "metropolis",
    "town",
    "cyberpunk",
    "building",
    "tokyo",
    "york",
    "paris",
    "harbor",
    "harbour",
  ],
  forest: [
    "forest",
    "tree",
    "wood",
    "woods",
    "woodland",
    "jungle",
    "pine",
    "grove",
    "taiga",
    "rainforest",
    "cabin",
  ],
  dunes: ["desert", "dune", "sand", "sahara", "mesa", "arid", "oasis"],
  hills: [
    "hill",
    "valley",
    "meadow",
    "field",
    "countryside",
    "farm",
    "prairie",
    "grassland",
    "vineyard",
    "garden",
    "landscape",
  ],
  abstract: [
    "abstract",
    "dream",
    "dreamy",
    "surreal",
    "fractal",
    "fluid",
    "liquid",
    "pattern",
    "geometric",
    "psychedelic",
    "swirl",
    "bubble",
    "blob",
    "shape",
  ],
  space: [
    "space",
    "galaxy",
    "nebula",
    "cosmic",
    "cosmos",
    "universe",
    "planet",
    "astronaut",
    "orbit",
    "saturn",
  ],
};

const MOOD_WORDS: Record<Mood, readonly string[]> = {
  night: [
    "night",
    "midnight",
    "moon",
    "moonlit",
    "moonlight",
    "nocturnal",
    "starry",
    "star",
    "dark",
  ],
  sunset: ["sunset", "dusk", "evening", "twilight", "golden", "afterglow"],
  sunrise: ["sunrise", "dawn", "morning", "daybreak"],
  day: ["day", "noon", "sunny", "midday", "bright", "summer", "daylight"],
  storm: ["storm", "stormy", "rain", "rainy", "overcast", "gloomy", "cloudy", "thunder"],
};

const FOG_WORDS = ["fog", "foggy", "mist", "misty", "haze", "hazy", "smoky"];

const COLOR_WORDS: Record<string, number> = {
  red: 2,
  crimson: 350,
  orange: 28,
  amber: 40,
  gold: 46,
  golden: 46,
  yellow: 54,
  green: 120,
  emerald: 145,
  teal: 178,
  turquoise: 172,
  cyan: 188,
  blue: 218,
  azure: 205,
  purple: 275,
  violet: 265,
  lavender: 260,
  pink: 330,
  magenta: 312,
  rose: 340,
};

const WINTER_WORDS = ["winter", "snow", "snowy", "ice", "icy", "frozen", "arctic", "frost"];
const AUTUMN_WORDS = ["autumn", "fall", "october"];

/** Lower-case words of the prompt, with a trailing plural "s" also tried. */
function wordsOf(prompt: string): Set<string> {
  const words = new Set<string>();
  for (const match of prompt.toLowerCase().matchAll(/\p{L}+/gu)) {
    const word = match[0];
    words.add(word);
    if (word.length > 3 && word.endsWith("s")) words.add(word.slice(0, -1));
  }
  return words;
}

function hasAny(words: Set<string>, list: readonly string[]): boolean {
  return list.some((word) => words.has(word));
}

function fromHsl(value: Hsl, hueShift = 0): Rgb {
  return hsl(value[0] + hueShift, value[1], value[2]);
}

export interface SceneInput {
  prompt: string;
  style: StyleName | undefined;
  seed: number;
  width: number;
  height: number;
}

export function composeScene(input: SceneInput): Scene {
  const { width, height, style } = input;
  const aspect = width / height;
  const words = wordsOf(input.prompt);
  // The whole prompt (not only its keywords) and the seed drive every choice below.
  const rng = new Rng(mixHash(hashString(input.prompt.trim()), input.seed >>> 0));
  const seed = rng.seed();

  const themes = new Set<string>();
  for (const [theme, list] of Object.entries(THEME_WORDS))
    if (hasAny(words, list)) themes.add(theme);
  if (themes.size === 0) {
    const template = rng.pick([
      ["mountains", "water"],
      ["mountains"],
      ["hills", "forest"],
      ["hills"],
      ["water"],
      ["dunes"],
      ["mountains", "forest"],
      ["abstract"],
    ]);
    for (const theme of template) themes.add(theme);
  }
  const abstract = themes.has("abstract") && themes.size === 1;
  const space = themes.has("space");

  let mood: Mood | undefined;
  for (const candidate of ["storm", "night", "sunset", "sunrise", "day"] as const) {
    if (!mood && hasAny(words, MOOD_WORDS[candidate])) mood = candidate;
  }
  if (space) mood = "night";
  mood ??= rng.pick<Mood>(["day", "day", "sunset", "sunset", "sunset", "night", "sunrise"]);
  const palette = MOODS[mood];
  const winter = hasAny(words, WINTER_WORDS);
  const fog = hasAny(words, FOG_WORDS);
  const autumn = hasAny(words, AUTUMN_WORDS);

  // A small hue turn per prompt keeps palettes related to the mood but never identical.
  const hueShift = rng.range(-16, 16);
  let accentHue: number | undefined;
  for (const [word, hue] of Object.entries(COLOR_WORDS))
    if (accentHue === undefined && words.has(word)) accentHue = hue;

  let skyTop = fromHsl(palette.top, hueShift);
  let skyMid = fromHsl(palette.mid, hueShift);
  let skyHorizon = fromHsl(palette.horizon, hueShift * 0.5);
  if (accentHue !== undefined) {
    skyMid = hsl(accentHue, Math.max(palette.mid[1], 0.5), palette.mid[2]);
    skyTop = mix(skyTop, hsl(accentHue + 25, 0.5, palette.top[2]), 0.4);
    skyHorizon = mix(skyHorizon, hsl(accentHue - 20, 0.8, palette.horizon[2]), 0.35);
  }
  const abstractHue = accentHue ?? rng.range(0, 360);
  if (abstract) {
    // Abstract pictures get a deep backdrop in hues related to their shapes, not a sky.
    skyTop = hsl(abstractHue + 200, 0.45, 0.13);
    skyMid = hsl(abstractHue + 235, 0.42, 0.3);
    skyHorizon = hsl(abstractHue + 275, 0.5, 0.58);
  }
  if (winter) {
    skyTop = mix(skyTop, hsl(210, 0.3, palette.top[2]), 0.4);
    skyMid = mix(skyMid, hsl(205, 0.25, Math.min(0.85, palette.mid[2] + 0.1)), 0.4);
  }

  const floor: Floor = themes.has("water")
    ? "water"
    : style === "neon" && !abstract
      ? "grid"
      : "land";
  const horizon = abstract ? 1.2 : floor === "land" ? rng.range(0.48, 0.6) : rng.range(0.56, 0.66);

  const lightSide = rng.sign();
  const light = {
    kind: abstract ? ("sun" as const) : palette.light,
    x: lightSide * rng.range(0.1, 0.32) * aspect,
    y: abstract
      ? rng.range(0.25, 0.45)
      : horizon - rng.range(palette.lightHeight[0], palette.lightHeight[1]),
    radius: palette.light === "moon" ? rng.range(0.035, 0.05) : rng.range(0.04, 0.06),
    color: fromHsl(palette.lightColor),
    edgeColor: fromHsl(palette.lightColor),
    glow: fromHsl(palette.glow, hueShift * 0.3),
    glowStrength: abstract ? 0.5 : palette.glowStrength,
    striped: false,
    disc: !abstract,
  };
  if (mood === "sunset" || mood === "sunrise") light.radius *= 1.35;
  if (mood === "storm") light.radius *= 0.8;
  if (abstract) light.glow = hsl(abstractHue + 30, 0.8, 0.6);

  const clouds = {
    cover: rng.range(palette.cloudCover[0], palette.cloudCover[1]),
    scale: rng.range(2.2, 3.6),
    lit: fromHsl(palette.cloudLit, hueShift * 0.5),
    shade: fromHsl(palette.cloudShade, hueShift),
    opacity: abstract ? 0.35 : 0.9,
    additive: false,
  };
  if (abstract) {
    clouds.cover = rng.range(0.2, 0.35);
    clouds.lit = hsl(abstractHue + 250, 0.4, 0.6);
    clouds.shade = hsl(abstractHue + 220, 0.4, 0.25);
  }
  if (space) {
    // Nebula: the cloud field, added as light instead of laid over the sky.
    const nebulaHue = accentHue ?? rng.range(250, 340);
    clouds.cover = rng.range(0.45, 0.65);
    clouds.scale = rng.range(1.4, 2.2);
    clouds.lit = hsl(nebulaHue, 0.8, 0.45);
    clouds.shade = hsl(nebulaHue - 80, 0.7, 0.3);
    clouds.opacity = 0.8;
    clouds.additive = true;
  }

  const layers = buildLayers(rng, themes, {
    mood,
    palette,
    floor,
    horizon,
    hueShift,
    winter,
    autumn,
    skyHorizon,
    glow: light.glow,
    space,
    fog,
  });

  const blobs: Blob[] = [];
  const ribbons: Ribbon[] = [];
  if (themes.has("abstract")) {
    const count = abstract ? rng.int(4, 6) : rng.int(2, 4);
    const hues = [0, 35, -35, 160, 190];
    for (let i = 0; i < count; i++) {
      // Spread the shapes over the frame: one per slice of its width, jittered.
      const slot = (i + rng.range(0.2, 0.8)) / count;
      blobs.push({
        x: (slot - 0.5) * aspect * 0.9,
        y: rng.range(0.25, abstract ? 0.75 : Math.max(0.3, horizon - 0.2)),
        radius: rng.range(0.055, 0.12),
        color: hsl(
          abstractHue + rng.pick(hues) + rng.range(-10, 10),
          rng.range(0.6, 0.85),
          rng.range(0.52, 0.64),
        ),
        driftX: rng.range(0.02, 0.05) * rng.sign(),
        driftY: rng.range(0.015, 0.035) * rng.sign(),
        phase: rng.range(0, Math.PI * 2),
      });
    }
    if (abstract) {
      const ribbonCount = rng.int(2, 3);
      for (let i = 0; i < ribbonCount; i++) {
        ribbons.push({
          y: rng.range(0.35, 0.8),
          amplitude: rng.range(0.05, 0.14),
          frequency: rng.range(2, 4.5),
          phase: rng.range(0, Math.PI * 2),
          thickness: rng.range(0.03, 0.07),
          color: hsl(abstractHue + rng.pick([60, 120, 200, 300]), 0.7, rng.range(0.55, 0.7)),
          speed: rng.range(0.25, 0.5) * rng.sign(),
        });
      }
    }
  }

  let planet: Planet | undefined;
  if (space) {
    const hue = rng.range(0, 360);
    planet = {
      x: -lightSide * rng.range(0.12, 0.3) * aspect,
      y: rng.range(0.28, 0.42),
      radius: rng.range(0.1, 0.17),
      color: hsl(hue, 0.45, 0.55),
      band: hsl(hue + 30, 0.5, 0.4),
      ring: rng.chance(0.6),
    };
  }

  const waterBase = palette.water;
  const water = {
    shallow: hsl(waterBase[0] + hueShift, waterBase[1], waterBase[2] + 0.06),
    deep: hsl(waterBase[0] + hueShift + 10, waterBase[1], waterBase[2] * 0.55),
    reflectivity: rng.range(0.75, 0.9),
    waves: rng.range(0.6, 1),
    glitter: mood === "night" ? 0.6 : 1,
  };

  const scene: Scene = {
    width,
    height,
    seed,
    mood,
    themes: [...themes].sort(),
    style,
    sky: { top: skyTop, mid: skyMid, horizon: skyHorizon, midAt: rng.range(0.5, 0.62) },
    horizon,
    floor,
    light,
    stars: space ? 1.6 : palette.stars,
    clouds,
    layers,
    water,
    grid: { color: hsl(190, 1, 0.6), base: hsl(270, 0.6, 0.08) },
    blobs,
    ribbons,
    planet,
    grade: baseGrade(),
    motion: {
      pan: rng.sign() * rng.range(0.018, 0.03),
      zoom: rng.range(0.01, 0.018),
      lightDx: rng.range(-0.004, 0.004),
      lightDy: mood === "sunset" ? 0.007 : mood === "sunrise" ? -0.007 : rng.range(-0.003, 0.003),
      cloudDrift: rng.range(0.015, 0.03) * rng.sign(),
      waveSpeed: rng.range(0.8, 1.2),
    },
  };
  return applyStyle(scene, style, rng);
}

interface LayerContext {
  mood: Mood;
  palette: MoodPalette;
  floor: Floor;
  horizon: number;
  hueShift: number;
  winter: boolean;
  autumn: boolean;
  skyHorizon: Rgb;
  glow: Rgb;
  space: boolean;
  fog: boolean;
}

function repeat(kind: LayerKind, count: number): LayerKind[] {
  return Array.from({ length: count }, () => kind);
}

function buildLayers(rng: Rng, themes: Set<string>, context: LayerContext): Layer[] {
  const { horizon, floor, palette } = context;
  const onWater = floor !== "land";
  // Far to near: big shapes behind, small detailed ones in front.
  const plan: LayerKind[] = [];
  if (themes.has("mountains")) plan.push(...repeat("mountains", onWater ? rng.int(2, 3) : 3));
  else if (context.space && themes.size === 1) plan.push("mountains");
  if (themes.has("dunes")) plan.push(...repeat("dunes", onWater ? 2 : rng.int(3, 4)));
  if (themes.has("city")) plan.push(...repeat("city", onWater ? 2 : 3));
  if (themes.has("hills")) plan.push(...repeat("hills", onWater ? 1 : 2));
  if (themes.has("forest")) plan.push(...repeat("forest", onWater ? 1 : 2));
  if (plan.length === 0) return [];
  if (!onWater) {
    // Land needs a foreground that fills the frame's foot, and a few layers for depth.
    const last = plan[plan.length - 1];
    if (last === "mountains") plan.push(rng.pick(["hills", "forest"]));
    while (plan.length < 3) plan.unshift(plan[0] === "mountains" ? "mountains" : "hills");
  }
  if (plan.length > 6) plan.splice(0, plan.length - 6);

  const layers: Layer[] = [];
  const count = plan.length;
  plan.forEach((kind, index) => {
    const position = count === 1 ? 1 : index / (count - 1);
    const depth = 0.12 + 0.88 * position;
    // Layers on water stand on the waterline; on land they step down toward the frame's foot.
    const base = onWater ? horizon : horizon + (0.86 - horizon) * position ** 1.35;
    let amplitude: number;
    let frequency: number;
    switch (kind) {
      case "mountains":
        amplitude = rng.range(0.2, 0.32) * (1 - position * 0.4);
        frequency = rng.range(2.2, 3.2) * (1 + position * 0.5);
        break;
      case "hills":
        amplitude = rng.range(0.07, 0.15) * (onWater ? 0.6 : 1);
        frequency = rng.range(1, 2.2);
        break;
      case "dunes":
        amplitude = rng.range(0.05, 0.09) * (0.7 + position * 0.6);
        frequency = rng.range(0.7, 1.2) * (1.4 - position * 0.5);
        break;
      case "city":
        amplitude = rng.range(0.16, 0.26) * (1 - position * 0.35);
        frequency = rng.range(9, 12) * (1 - position * 0.3);
        break;
      case "forest":
        amplitude = rng.range(0.07, 0.1) * (0.6 + position * 0.7);
        frequency = rng.range(1, 1.6);
        break;
    }
    const body = palette.bodies[kind];
    // Neighbouring layers of one kind differ a little in hue, so they read as separate planes.
    let hue =
      body[0] + context.hueShift * 0.5 + (index % 2 === 0 ? -8 : 8) * (kind === "hills" ? 1.5 : 1);
    let saturation = body[1];
    let lightness = body[2];
    if (context.autumn && (kind === "hills" || kind === "forest")) {
      hue = rng.range(18, 38);
      saturation = 0.55;
    }
    if (context.winter && (kind === "hills" || kind === "dunes")) {
      hue = 212;
      saturation = 0.18;
      lightness = Math.max(lightness, 0.55) + 0.2;
    }
    // Near layers are darker and richer; far ones sink into the horizon haze.
    const near = hsl(hue, saturation * (0.85 + position * 0.3), lightness * (1.2 - position * 0.5));
    const color = mix(context.skyHorizon, near, 0.62 + position * 0.38);
    const night = context.mood === "night";
    const snowy =
      kind === "mountains" && position < 0.7 && (context.winter || (!night && rng.chance(0.5)));
    layers.push({
      kind,
      seed: rng.seed(),
      base,
      amplitude,
      frequency,
      depth,
      color,
      rim: mix(context.glow, [1, 1, 1], night ? 0.4 : 0.2),
      rimStrength: (night || context.mood === "storm" ? 0.14 : 0.32) * (1 - position * 0.3),
      haze: (onWater ? 0.42 : 0.16 - 0.06 * position) * (context.fog ? 2.5 : 1),
      hazeStart: base - amplitude * (kind === "mountains" ? 0.3 : 0.6),
      hazeLength: amplitude,
      snow: snowy ? 1 : 0,
      windows: kind === "city" ? palette.windows * (0.55 + 0.45 * position) : 0,
      edgeGlow: 0,
    });
  });
  return layers;
}

function baseGrade(): Grade {
  return {
    saturation: 1.05,
    contrast: 1.06,
    lift: 0,
    exposure: 1,
    shadowTint: [0, 0, 0],
    highlightTint: [0, 0, 0],
    vignette: 0.28,
    vignetteColor: [0, 0, 0],
    grain: 0.01,
    bloom: 0.35,
    bloomThreshold: 0.72,
    mono: false,
    paper: 0,
    warp: 0,
  };
}

function mapPalette(scene: Scene, map: (color: Rgb) => Rgb): void {
  scene.sky = {
    top: map(scene.sky.top),
    mid: map(scene.sky.mid),
    horizon: map(scene.sky.horizon),
    midAt: scene.sky.midAt,
  };
  scene.light.glow = map(scene.light.glow);
  scene.clouds.lit = map(scene.clouds.lit);
  scene.clouds.shade = map(scene.clouds.shade);
  scene.water.shallow = map(scene.water.shallow);
  scene.water.deep = map(scene.water.deep);
  for (const layer of scene.layers) {
    layer.color = map(layer.color);
    layer.rim = map(layer.rim);
  }
  for (const blob of scene.blobs) blob.color = map(blob.color);
  if (scene.planet) {
    scene.planet.color = map(scene.planet.color);
    scene.planet.band = map(scene.planet.band);
  }
}

function applyStyle(scene: Scene, style: StyleName | undefined, rng: Rng): Scene {
  const grade = scene.grade;
  switch (style) {
    case undefined:
      break;
    case "cinematic":
      // Teal shadows, warm highlights, deeper contrast and a heavier vignette.
      grade.saturation = 0.96;
      grade.contrast = 1.2;
      grade.lift = -0.015;
      grade.shadowTint = [-0.05, 0.03, 0.08];
      grade.highlightTint = [0.08, 0.025, -0.06];
      grade.vignette = 0.5;
      grade.grain = 0.018;
      grade.bloom = 0.55;
      break;
    case "watercolor":
      // Light washes on paper: pale palette, wobbly edges, paper grain, edges fade to white.
      mapPalette(scene, (color) => adjust(color, 0.8, 0.22, 0.96));
      grade.saturation = 0.92;
      grade.contrast = 0.92;
      grade.vignette = 0.45;
      grade.vignetteColor = [0.97, 0.95, 0.9];
      grade.grain = 0;
      grade.bloom = 0.12;
      grade.paper = 1;
      grade.warp = 1;
      for (const layer of scene.layers) {
        // Pigment pools at the edge of a wash: a darker line just inside each ridge.
        layer.rim = scale(layer.color, 0.55);
        layer.rimStrength = 0.5;
      }
      break;
    case "neon": {
      // Synthwave: a dark violet sky, a striped sun, black ridges outlined in neon.
      const outline = rng.pick([305, 190, 320]);
      scene.sky = {
        top: hsl(262, 0.75, 0.05),
        mid: hsl(285, 0.7, 0.18),
        horizon: hsl(322, 0.9, 0.52),
        midAt: 0.55,
      };
      scene.light.kind = "sun";
      scene.light.color = hsl(52, 1, 0.62);
      scene.light.edgeColor = hsl(330, 1, 0.58);
      scene.light.glow = hsl(318, 1, 0.55);
      scene.light.glowStrength = 0.8;
      scene.light.radius = Math.max(scene.light.radius, 0.11);
      scene.light.y = Math.min(scene.horizon, 0.9) - scene.light.radius * 0.55;
      scene.light.striped = true;
      scene.stars = Math.max(scene.stars, 0.6);
      scene.clouds.cover *= 0.5;
      scene.clouds.lit = hsl(320, 0.8, 0.5);
      scene.clouds.shade = hsl(265, 0.6, 0.14);
      scene.water.shallow = hsl(280, 0.6, 0.12);
      scene.water.deep = hsl(260, 0.7, 0.04);
      scene.layers.forEach((layer, index) => {
        layer.color = hsl(268, 0.55, 0.035 + 0.05 * (1 - layer.depth));
        layer.rim = hsl(index % 2 === 0 ? outline : outline + 120, 1, 0.6);
        layer.rimStrength = 0.9;
        layer.haze = 0.25;
        layer.edgeGlow = 0.55;
        if (layer.windows > 0 || layer.kind === "city") layer.windows = 0.5;
        layer.snow = 0;
      });
      for (const blob of scene.blobs) blob.color = adjust(blob.color, 1.4, 0.2, 0.7);
      grade.saturation = 1.25;
      grade.contrast = 1.1;
      grade.vignette = 0.45;
      grade.bloom = 0.95;
      grade.bloomThreshold = 0.55;
      grade.grain = 0.012;
      break;
    }
    case "pastel":
      mapPalette(scene, (color) => adjust(color, 0.58, 0.42, 0.94));
      scene.light.color = adjust(scene.light.color, 0.6, 0.6, 1);
      grade.saturation = 0.85;
      grade.contrast = 0.86;
      grade.lift = 0.05;
      grade.vignette = 0.18;
      grade.vignetteColor = [0.98, 0.94, 0.96];
      grade.grain = 0.006;
      grade.bloom = 0.3;
      break;
    case "noir":
      grade.mono = true;
      grade.saturation = 0;
      grade.contrast = 1.5;
      grade.lift = -0.03;
      grade.vignette = 0.65;
      grade.grain = 0.045;
      grade.bloom = 0.35;
      scene.light.glowStrength *= 1.2;
      break;
    case "vivid":
      mapPalette(scene, (color) => adjust(color, 1.3));
      grade.saturation = 1.3;
      grade.contrast = 1.14;
      grade.vignette = 0.25;
      grade.bloom = 0.5;
      break;
  }
  return scene;
}
