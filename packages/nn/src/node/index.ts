export { loadNetwork, readNetworkJson, saveNetwork } from './files.js';
