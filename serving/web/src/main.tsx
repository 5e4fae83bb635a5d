import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { App } from './components/app.js';

const root = document.getElementById('app')!;
// The boot message is plain HTML: Preact renders next to what is there, so clear it first.
root.textContent = '';
render(<App />, root);
