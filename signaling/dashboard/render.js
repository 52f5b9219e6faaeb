// Drawing the room: each table's rows are keyed (data-key), and a row is rewritten only when its
// cells changed, so a row changes in place as its event arrives and nothing else moves.

const text = (value) => (value === null || value === undefined ? "" : String(value));

// rows: [{key, cells: {column: text}, className, actions: [{label, run, title}]}]
export function fillTable(tbody, columns, rows) {
  const keep = new Set(rows.map((r) => r.key));
  for (const tr of [...tbody.rows]) if (!keep.has(tr.dataset.key)) tr.remove();
  let previous = null;
  for (const row of rows) {
    let tr = tbody.querySelector(`tr[data-key="${CSS.escape(row.key)}"]`);
    const signature = JSON.stringify([row.cells, row.className, (row.actions || []).map((a) => a.label)]);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.key = row.key;
    }
    if (tr.dataset.signature !== signature) {
      tr.dataset.signature = signature;
      tr.className = row.className || "";
      tr.replaceChildren(
        ...columns.map((column) => {
          const td = document.createElement("td");
          td.className = column;
          td.textContent = text(row.cells[column]);
          return td;
        }),
      );
      if (row.actions) {
        const td = document.createElement("td");
        td.className = "actions";
        for (const action of row.actions) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = action.label;
          button.title = action.title || "";
          button.dataset.action = action.label.toLowerCase().replace(/\s+/g, "-");
          button.addEventListener("click", action.run);
          td.append(button);
        }
        tr.append(td);
      }
    }
    const wanted = previous ? previous.nextSibling : tbody.firstChild;
    if (tr !== wanted) tbody.insertBefore(tr, wanted);
    previous = tr;
  }
}

// The timeline: newest first; entries are added, never redrawn.
export function fillTimeline(list, entries) {
  const shown = new Set([...list.children].map((li) => li.dataset.key));
  for (const entry of entries) {
    const key = `${entry.source}:${entry.id}`;
    if (shown.has(key)) continue;
    const li = document.createElement("li");
    li.dataset.key = key;
    li.dataset.type = entry.type;
    const time = document.createElement("time");
    time.textContent = entry.at.slice(11, 19);
    time.dateTime = entry.at;
    const who = document.createElement("span");
    who.className = "source";
    who.textContent = entry.source;
    const what = document.createElement("span");
    what.className = "text";
    what.textContent = entry.text;
    li.append(time, who, what);
    list.prepend(li);
  }
  while (list.children.length > 500) list.lastChild.remove();
}

export function ms(seconds) {
  return seconds === null || seconds === undefined ? "" : `${(seconds * 1000).toFixed(1)} ms`;
}
