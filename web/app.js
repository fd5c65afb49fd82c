// The viewer's page: the number of runs in the archive, from the API.
const view = document.getElementById("view");

async function show() {
  const response = await fetch("api/v1/runs?limit=1");
  const body = await response.json();
  view.textContent = response.ok
    ? `${body.archive_total} runs in the archive`
    : `The archive cannot be read: ${body.error}`;
}

show().catch((error) => {
  view.textContent = `The archive cannot be read: ${error}`;
});
