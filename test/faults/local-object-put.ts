// Child process for the local object store's crash test: opens the store in argv[2] and puts one large
// object (argv[3] = key, argv[4] = size in bytes), then exits. The parent kills it mid-put with
// SIGKILL and checks that the put left nothing visible. Run as `node --import tsx <this file> ...`.
import { LocalObjectStore } from "../../storage/object/local-object-store.ts";

const [dir, key, sizeText] = process.argv.slice(2);
if (dir === undefined || key === undefined || sizeText === undefined) {
  process.stderr.write("usage: local-object-put.ts <dir> <key> <sizeBytes>\n");
  process.exit(2);
}
const store = await LocalObjectStore.open({ dir, limits: { objectBytesMax: Number(sizeText) } });
await store.put(key, new Uint8Array(Number(sizeText)).fill(0x5a));
await store.close();
process.stdout.write("done\n");
