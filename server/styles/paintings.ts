/**
 * The built-in paintings: public-domain works shipped as JPEGs in models/paintings/ (long side
 * 512 px; provenance and licence of each in models/paintings/SOURCES.md). The first is the
 * default style of the page, live streams and video jobs.
 */
export interface Painting {
  id: string;
  /** Title, artist and year, as the gallery shows it. */
  name: string;
  /** File name in models/paintings/. */
  file: string;
}

export const PAINTINGS: readonly Painting[] = [
  { id: 'starry-night', name: 'The Starry Night, Vincent van Gogh, 1889', file: 'starry_night.jpg' },
  { id: 'great-wave', name: 'The Great Wave off Kanagawa, Katsushika Hokusai, c. 1831', file: 'wave.jpg' },
  { id: 'the-scream', name: 'The Scream, Edvard Munch, 1893', file: 'the_scream.jpg' },
  { id: 'composition-vii', name: 'Composition VII, Wassily Kandinsky, 1913', file: 'composition_vii.jpg' },
  { id: 'shipwreck', name: 'The Wreck of a Transport Ship, J. M. W. Turner, c. 1810', file: 'shipwreck_of_the_minotaur.jpg' },
  { id: 'japanese-footbridge', name: 'The Japanese Footbridge, Claude Monet, 1899', file: 'monet_japanese_footbridge.jpg' },
  { id: 'circus-sideshow', name: 'Circus Sideshow, Georges Seurat, 1887–88', file: 'seurat_circus_sideshow.jpg' },
];
