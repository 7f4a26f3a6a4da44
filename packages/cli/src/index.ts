export { writeNewKeyring } from './commands/keygen.js';
