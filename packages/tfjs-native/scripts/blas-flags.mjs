// Prints compiler or linker flags for the system OpenBLAS, for binding.gyp: pkg-config when it
// knows the library, else the Debian/Ubuntu multiarch locations of cblas.h.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const kind = process.argv[2] === 'libs' ? 'libs' : 'cflags';
function pkgConfig() {
  try {
    return execFileSync('pkg-config', [`--${kind}`, 'openblas'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}
let flags = pkgConfig();
if (flags === undefined || flags === '') {
  if (kind === 'libs') flags = '-lopenblas';
  else {
    const dirs = ['/usr/include/openblas'];
    if (existsSync('/usr/include')) {
      for (const d of readdirSync('/usr/include')) {
        if (d.endsWith('-linux-gnu') && existsSync(`/usr/include/${d}/cblas.h`))
          dirs.push(`/usr/include/${d}`);
      }
    }
    flags = dirs
      .filter((d) => existsSync(d))
      .map((d) => `-I${d}`)
      .join(' ');
  }
}
process.stdout.write(flags);
