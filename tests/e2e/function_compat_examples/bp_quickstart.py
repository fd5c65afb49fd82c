import xrun.compat.batchpy as batchpy

class example_run(batchpy.Run):
    """
    An example run class
    """
    def run(self,A=0,B=[1,2,3],operator=max):
        """
        An example computation function
        
        """
        
        print(self.parameters)

        res = {'val': self.parameters['A']*self.parameters['operator'](self.parameters['B'])}
        
        return res


batch = batchpy.Batch('example')


# Add single run
batch.add_run( example_run,{'A':10,'B':[3,2,4,3,8]})

# Add a full factorial design of runs
batch.add_factorial_runs( example_run,
                         {'A': [1,2,3,4,5],
                          'B': [[2,5,8],[1,9,6,3,9],[6,4,0,9,4,1]],
                          'operator': [min,max,sum,len]})


print( batch.run[0].parameters )
print( batch.run[0].id )
print( batch.run[0].index )
print( batch.run[0].done )
print( batch.run[0].result )
print( batch.run[0].runtime )


print( batch.run[0].filename )


runs = batch.get_runs_with(A__ge=3,B=[2,5,8],operator=max)


batch()


res = batch.run[0].result
print(res)

runs = batch.get_runs_with(A__le=3,B=[2,5,8],operator=min)
res = [run.result['val'] for run in runs]
print(res)


batch.add_run( example_run,{'A':8,'operator':min})
print([run.done for run in batch.run])
batch()


ids = [run.id for run in batch.run]

del example_run
del batch

resultbatch = batchpy.Batch('example')
resultbatch.add_resultrun( ids )

res = resultbatch.run[0].result
print(res)

resultbatch.save_ids()
del resultbatch

import numpy as np
ids = np.load('_res/example_ids.npy')
print(ids)

resultbatch = batchpy.Batch('example')
resultbatch.add_resultrun( ids )

res = resultbatch.run[0].result
print(res)
