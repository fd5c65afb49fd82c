import xrun.compat.digitalhub as dh

project = dh.get_or_create_project("my-project")

# From project ...

function = project.new_function(name="python-function",
                                kind="python",
                                code_src="dh_main.py",
                                handler="func2",
                                python_version="PYTHON3_9")

# .. or from sdk

function = dh.new_function(project="my-project",
                           name="python-function",
                           kind="python",
                           code_src="dh_main.py",
                           handler="func2",
                           python_version="PYTHON3_9")

run = function.run(action="job", local_execution=True)
run.refresh()
print("func2", run.status.state, run.result("result"), run.results())

run = project.new_function(name="plain", kind="python", code_src="dh_main.py",
                           handler="func1").run(action="job", local_execution=True)
print("func1", run.results())

run = project.new_function(name="logger", kind="python", code_src="dh_main.py",
                           handler="func3").run(action="job", local_execution=True)
print("func3", run.id, project.get_artifact("example").path)

sdk_function = project.new_function(name="reader", kind="python", code_src="dh_main.py",
                                    handler="func5")
run = sdk_function.run(action="job", inputs={"di": "example:latest"},
                       parameters={"param1": "some value"}, local_execution=True)
print("func5", run.results())

sdk_function = project.new_function(name="doubler", kind="python", code_src="dh_main.py",
                                    handler="func")
run = sdk_function.run(action="job", inputs={"di": "data.csv"},
                       parameters={"param1": "some value"}, local_execution=True)
print("func", run.output("data").key, sorted(run.outputs()), run.result("string"))
again = sdk_function.run(action="job", inputs={"di": run.output("data").key},
                         parameters={"param1": "again"}, local_execution=True)
print("chained", again.output("data").as_df().values.tolist())
