// Benchmarks with free-form English questions, built in the tests: a V*-layout folder (one
// image and one .json per question, in category sub-folders) and an HR-Bench TSV (base64
// images, each question twice with its options rotated, the second row referring to the first's
// image). Questions 0 and 2 are direct attributes, 1 a relative position; the answer is A.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export const ENGLISH_QUESTIONS = [
  { q: "What is the colour of the woman's scarf?", options: ['The scarf is red.', 'blue', 'green', 'white'] },
  { q: 'Is the bicycle on the left or right side of the dog?', options: ['left', 'right'] },
  {
    q: 'What does the sign above the café door say? (Übersetzung)',
    options: ['Geöffnet', 'Closed — 闭', 'Sale!', 'Exit'],
  },
];

/** Writes both layouts under `root`: returns the V* folder (3 questions) and the TSV (6 rows). */
export async function writeEnglishBenchmarks(root: string): Promise<{ vstar: string; tsv: string }> {
  const vstar = join(root, 'vstar-english');
  const rows = ['index\tquestion\tanswer\tA\tB\tC\tD\timage\tcategory\tcycle_category'];
  for (const [i, { q, options }] of ENGLISH_QUESTIONS.entries()) {
    const folder = join(vstar, i === 1 ? 'relative_position' : 'direct_attributes');
    await mkdir(folder, { recursive: true });
    const jpeg = await sharp({
      create: { width: 120, height: 90, channels: 3, background: { r: 40 * i, g: 120, b: 200 - 40 * i } },
    })
      .jpeg()
      .toBuffer();
    await writeFile(join(folder, `sa_${i}.jpg`), jpeg);
    await writeFile(
      join(folder, `sa_${i}.json`),
      JSON.stringify({ question: q, options, bbox: [[10, 10, 30, 20]] }),
    );
    const four = [...options, 'nan', 'nan'].slice(0, 4);
    rows.push([2 * i, q, 'A', ...four, jpeg.toString('base64'), 'single', 0].join('\t'));
    const rotated = [...options.slice(1), options[0]!, 'nan', 'nan'].slice(0, 4);
    const answer = 'ABCD'[options.length - 1];
    rows.push([2 * i + 1, q, answer, ...rotated, String(2 * i), 'single', 1].join('\t'));
  }
  const tsv = join(root, 'hr-english.tsv');
  await writeFile(tsv, rows.join('\n') + '\n');
  return { vstar, tsv };
}
