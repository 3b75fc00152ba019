// The reference page's list of socket events, drawn from the AsyncAPI document
// (/api/v1/asyncapi.json): each event with its direction, payload, ack and error codes.
// Plain DOM, no framework: the page's only other script is Swagger UI's.
(() => {
  const list = document.getElementById('realtime-events-list');

  /** An element with children (elements or text); text never becomes markup. */
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs ?? {})) node.setAttribute(key, value);
    for (const child of children.flat(Number.POSITIVE_INFINITY)) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  };

  /** Prose whose `backticked` parts are code. */
  const prose = (text) =>
    String(text ?? '')
      .split('`')
      .map((part, i) => (i % 2 === 1 ? el('code', null, part) : part.replace(/\*\*/g, '')));

  /** The safe-integer bounds zod states for every integer say nothing to a reader. */
  const SAFE = Number.MAX_SAFE_INTEGER;

  /** A schema's type in a few words, with its constraints. */
  const typeOf = (schema) => {
    if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
    const types = [schema.type].flat().filter(Boolean);
    let text = types.length > 0 ? types.join(' | ') : '';
    if (schema.type === 'array' && schema.items && !schema.items.properties) {
      text = `array of ${typeOf(schema.items)}`;
    }
    if (schema.type === 'object' && typeof schema.additionalProperties === 'object') {
      const keys = schema.propertyNames ? typeOf(schema.propertyNames) : 'string';
      text = `object of ${keys} → ${typeOf(schema.additionalProperties)}`;
    }
    if (schema.format) text += ` (${schema.format})`;
    const limits = [];
    if (schema.minLength !== undefined) limits.push(`≥ ${schema.minLength} chars`);
    if (schema.maxLength !== undefined) limits.push(`≤ ${schema.maxLength} chars`);
    if (schema.minItems !== undefined && schema.minItems === schema.maxItems) {
      limits.push(`exactly ${schema.minItems} items`);
    } else {
      if (schema.minItems !== undefined) limits.push(`≥ ${schema.minItems} items`);
      if (schema.maxItems !== undefined) limits.push(`≤ ${schema.maxItems} items`);
    }
    if (schema.minimum !== undefined && Math.abs(schema.minimum) !== SAFE) {
      limits.push(`≥ ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && Math.abs(schema.maximum) !== SAFE) {
      limits.push(`≤ ${schema.maximum}`);
    }
    if (schema.default !== undefined) limits.push(`default ${JSON.stringify(schema.default)}`);
    if (limits.length > 0) text += `, ${limits.join(', ')}`;
    return text || 'anything';
  };

  /** The choices of a union, and whether it is just "this, or null". */
  const choicesOf = (schema) => {
    const choices = schema.anyOf ?? schema.oneOf;
    if (!Array.isArray(choices)) return null;
    const shown = choices.filter((c) => c.type !== 'null');
    return { shown, nullable: shown.length < choices.length };
  };

  /** A schema as nested lists: an object's fields, a union's choices, an array's items. */
  const render = (schema) => {
    if (!schema || Object.keys(schema).length === 0) return el('p', null, 'anything');
    const union = choicesOf(schema);
    if (union?.shown.length === 1) return render(union.shown[0]);
    if (union) {
      return el(
        'div',
        { class: 'rt-union' },
        el('p', null, union.nullable ? 'null, or one of:' : 'one of:'),
        el(
          'ol',
          null,
          union.shown.map((choice) => el('li', null, render(choice))),
        ),
      );
    }
    if (schema.type === 'array' && schema.items?.properties) {
      return el('div', null, el('p', null, `array of ${typeOf(schema)}`), render(schema.items));
    }
    if (schema.properties && Object.keys(schema.properties).length === 0) {
      return el('p', null, el('span', { class: 'rt-type' }, 'an empty object'));
    }
    if (schema.properties) {
      const required = new Set(schema.required ?? []);
      return el(
        'ul',
        { class: 'rt-fields' },
        Object.entries(schema.properties).map(([name, field]) => {
          const nested = Boolean(field.properties || choicesOf(field) || field.items?.properties);
          const head = [
            el('code', { class: 'rt-field' }, name),
            required.has(name) ? ' ' : el('span', { class: 'rt-optional' }, ' optional '),
            el('span', { class: 'rt-type' }, nested ? nestedName(field) : typeOf(field)),
            field.description ? [' — ', ...prose(field.description)] : null,
          ];
          if (!nested) return el('li', null, head);
          return el('li', null, el('details', null, el('summary', null, head), render(field)));
        }),
        schema.additionalProperties === false
          ? el('li', { class: 'rt-closed' }, 'no other fields')
          : null,
      );
    }
    return el('p', null, el('span', { class: 'rt-type' }, typeOf(schema)));
  };

  const nestedName = (field) => {
    const union = choicesOf(field);
    if (union) {
      const one = union.shown.length === 1 ? nestedName(union.shown[0]) : 'one of several';
      return union.nullable ? `${one} or null` : one;
    }
    if (field.items?.properties) return 'array of objects';
    return field.properties ? 'object' : typeOf(field);
  };

  /** The operation's message (or reply's), resolved from its `#/channels/...` reference. */
  const resolve = (doc, ref) =>
    ref.$ref
      .slice(2)
      .split('/')
      .reduce((node, key) => node[decodeURIComponent(key)], doc);

  const DIRECTIONS = {
    send: { label: 'client → server', title: 'Sent by the client' },
    receive: { label: 'server → client', title: 'Pushed by the server' },
  };

  const eventSection = (doc, operation) => {
    const message = resolve(doc, operation.messages[0]);
    const direction = DIRECTIONS[operation.action];
    const event = message.name;
    const parts = [
      el(
        'h4',
        { class: 'rt-event-name' },
        el(
          'span',
          { class: `rt-dir rt-${operation.action}`, title: direction.title },
          direction.label,
        ),
        ' ',
        el('code', null, event),
      ),
      el('p', { class: 'rt-summary' }, operation.summary),
      el('p', null, prose(operation.description)),
      el('h5', null, 'Payload'),
      'payload' in message ? render(message.payload) : el('p', null, 'none'),
    ];
    if (operation.reply) {
      const reply = resolve(doc, operation.reply.messages[0]);
      const choices = reply.payload.anyOf ?? reply.payload.oneOf;
      const data = choices.find((c) => c.properties?.data).properties.data;
      const errors = reply['x-errors'] ?? {};
      parts.push(
        el('h5', null, 'Ack ', el('code', null, '{ data }')),
        render(data),
        el('h5', null, 'Or an error ', el('code', null, '{ error: { code, message } }')),
        el(
          'dl',
          { class: 'rt-errors' },
          Object.entries(errors).map(([code, when]) => [
            el('dt', null, el('code', null, code)),
            el('dd', null, prose(when)),
          ]),
        ),
      );
    }
    return el('article', { class: 'rt-event', id: `event-${event}` }, parts);
  };

  // A link to #realtime (or an event in it) lands above Swagger UI, which grows as it
  // renders: go to the target again once the list is drawn and the HTTP reference is in.
  const revisit = () => {
    // Swagger UI's deep linking rewrites #realtime as #/realtime.
    const id = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
    const target = id ? document.getElementById(id) : null;
    if (target?.closest('#realtime')) target.scrollIntoView();
  };
  const swagger = document.getElementById('swagger-ui');
  const settled = new MutationObserver(() => {
    if (!swagger.querySelector('.opblock-tag')) return;
    settled.disconnect();
    // After the frame in which Swagger UI lays its operations out.
    requestAnimationFrame(revisit);
  });
  settled.observe(swagger, { childList: true, subtree: true });
  setTimeout(() => settled.disconnect(), 10_000);

  fetch('./asyncapi.json')
    .then((res) => {
      if (!res.ok) throw new Error(`asyncapi.json answered ${res.status}`);
      return res.json();
    })
    .then((doc) => {
      const operations = Object.values(doc.operations);
      const group = (action, heading) =>
        el(
          'div',
          { class: 'rt-group' },
          el('h4', { class: 'rt-group-name' }, heading),
          operations.filter((op) => op.action === action).map((op) => eventSection(doc, op)),
        );
      list.replaceChildren(
        el(
          'p',
          null,
          prose(`Connect to \`${doc.servers.gateway.pathname}\` over websocket. `),
          prose(doc.components.securitySchemes.accessToken.description),
        ),
        group('send', 'What a client sends'),
        group('receive', 'What the server pushes'),
      );
      revisit();
    })
    .catch((err) => {
      list.replaceChildren(el('p', { class: 'rt-failed' }, `Could not read asyncapi.json: ${err}`));
    });
})();
