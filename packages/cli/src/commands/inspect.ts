import type { CommandModule } from 'yargs';
import { loadBackendConfig, loadKeyring, withBackendOptions } from '../config.js';
import type { BackendArgs } from '../config.js';
import { inspectObject, renderInspectReport } from '../objects/inspect-object.js';
import { createBackendClient } from '../s3/backend-client.js';
import { parseS3Url } from '../s3/s3-url.js';

interface InspectArgs extends BackendArgs {
  url: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <url>',
  describe:
    'show an object’s envelope: format, algorithm, layout, sizes, KEK version (and whether the keyring holds it)',
  builder: (y) =>
    withBackendOptions(y)
      .positional('url', { type: 'string', demandOption: true, describe: 's3://bucket/key' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }),
  handler: async (args) => {
    const location = parseS3Url(args.url, { isKeyRequired: true });
    const keyring = await loadKeyring(args, { isRequired: false });
    const client = createBackendClient(loadBackendConfig(args));
    try {
      const report = await inspectObject(client, location.bucket, location.key, keyring);
      process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : renderInspectReport(report));
    } finally {
      client.destroy();
    }
  },
};
