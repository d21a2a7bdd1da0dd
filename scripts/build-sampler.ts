// `npm run build:sampler`: bundle the sampler page's script (src/report/sampler/page.ts) into
// dist/sampler-page.js, which an installed package (no esbuild, no src/) inlines into sampler.html.
import { writeFileAtomic } from '../src/io/atomic.ts';
import { bundleSamplerPage, prebuiltBundlePath } from '../src/report/sampler-html.ts';

const text = await bundleSamplerPage();
writeFileAtomic(prebuiltBundlePath(), text);
console.log(`${prebuiltBundlePath()}: ${text.length.toLocaleString('en-US')} bytes`);
