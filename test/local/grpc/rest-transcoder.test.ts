import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {Status} from 'google-gax';
import {protoRoot} from '../../../local/grpc/protos';
import {RpcError} from '../../../local/grpc/rpc-error';
import {
  compileTemplate,
  errorJson,
  httpStatusOf,
  matchRoute,
  requestJson,
  routesOf,
  type RestRoute,
} from '../../../local/grpc/rest-transcoder';
import {requestFromJson, responseJson} from '../../../local/grpc/rest-json';

const CLOUD_BUILD = 'google.devtools.cloudbuild.v1.CloudBuild';
const RUN = 'google.cloud.run.v2.Services';

function routes(): RestRoute[] {
  const root = protoRoot();
  return [
    ...routesOf(root, CLOUD_BUILD, ['CreateBuild', 'GetBuild', 'ListBuilds', 'CancelBuild', 'UpdateBuildTrigger']),
    ...routesOf(root, RUN, [
      'CreateService',
      'GetService',
      'ListServices',
      'UpdateService',
      'DeleteService',
      'GetIamPolicy',
      'SetIamPolicy',
    ]),
    ...routesOf(root, 'google.longrunning.Operations', ['GetOperation', 'CancelOperation']),
    ...routesOf(root, 'google.monitoring.v3.MetricService', ['ListTimeSeries']),
  ];
}

/** The plain request a REST call becomes, the same form the gRPC handlers get. */
function transcode(verb: string, url: string, body?: unknown) {
  const u = new URL(url, 'http://x');
  const match = matchRoute(routes(), verb, u.pathname);
  if (!match) return undefined;
  const json = requestJson(match, u.searchParams, body as never);
  return {method: match.route.method, request: requestFromJson(match.route.requestType, json)};
}

describe('compileTemplate', () => {
  const cases = [
    {template: '/v1/projects/{project_id}/builds/{id}', path: '/v1/projects/p/builds/b1', want: ['p', 'b1'], vars: [['projectId'], ['id']]},
    {
      template: '/v1/{name=projects/*/locations/*/builds/*}:cancel',
      path: '/v1/projects/p/locations/global/builds/b:cancel',
      want: ['projects/p/locations/global/builds/b'],
      vars: [['name']],
    },
    {
      template: '/v1/{name=projects/*/locations/*/builds/*}:cancel',
      path: '/v1/projects/p/locations/global/builds/b',
      want: undefined,
      vars: [['name']],
    },
    {template: '/v1/{name=operations/**}', path: '/v1/operations/build/p/QUJD', want: ['operations/build/p/QUJD'], vars: [['name']]},
    {template: '/v1/{name=operations/**}', path: '/v1/operations', want: undefined, vars: [['name']]},
    {
      template: '/v2/{service.name=projects/*/locations/*/services/*}',
      path: '/v2/projects/p/locations/l/services/s',
      want: ['projects/p/locations/l/services/s'],
      vars: [['service', 'name']],
    },
    {
      template: '/v2/{service.name=projects/*/locations/*/services/*}',
      path: '/v2/projects/p/locations/l/services/s/extra',
      want: undefined,
      vars: [['service', 'name']],
    },
    {
      template: '/v1/{trigger.resource_name=projects/*/locations/*/triggers/*}',
      path: '/v1/projects/p/locations/l/triggers/t',
      want: ['projects/p/locations/l/triggers/t'],
      vars: [['trigger', 'resourceName']],
    },
    {template: '/v1/{name=projects/*}/x.y', path: '/v1/projects/p/xzy', want: undefined, vars: [['name']]},
  ];
  for (const c of cases) {
    it(`${c.template} on ${c.path}`, () => {
      const {pattern, variables} = compileTemplate(c.template);
      assert.deepEqual(variables, c.vars);
      assert.deepEqual(pattern.exec(c.path)?.slice(1), c.want);
    });
  }
});

describe('REST request → RPC request', () => {
  const cases = [
    {
      name: 'GET by project and id (the first binding)',
      verb: 'GET',
      url: '/v1/projects/p/builds/b1?alt=json',
      want: {method: 'GetBuild', request: {projectId: 'p', id: 'b1'}},
    },
    {
      name: 'GET by name (an additional binding), percent-decoded',
      verb: 'GET',
      url: '/v1/projects/p/locations/global/builds/b%2D1',
      want: {method: 'GetBuild', request: {name: 'projects/p/locations/global/builds/b-1'}},
    },
    {
      name: 'query parameters: camelCase or snake_case, int32 as a number, system parameters ignored',
      verb: 'GET',
      url: '/v1/projects/p/locations/global/builds?page_size=5&pageToken=t&filter=status%3D%22SUCCESS%22&$alt=json%3Benum-encoding%3Dint&prettyPrint=false',
      want: {
        method: 'ListBuilds',
        request: {parent: 'projects/p/locations/global', pageSize: 5, pageToken: 't', filter: 'status="SUCCESS"'},
      },
    },
    {
      name: 'body "build": the body is that field, path variables beside it',
      verb: 'POST',
      url: '/v1/projects/p/builds',
      body: {steps: [{name: 'ubuntu', args: ['echo']}], timeout: '90.5s', options: {machineType: 'E2_HIGHCPU_8'}},
      want: {
        method: 'CreateBuild',
        request: {
          projectId: 'p',
          build: {
            steps: [{name: 'ubuntu', args: ['echo']}],
            timeout: {seconds: '90', nanos: 500000000},
            options: {machineType: 'E2_HIGHCPU_8'},
          },
        },
      },
    },
    {
      name: 'body "*": the whole request, the path variable wins over the body',
      verb: 'POST',
      url: '/v1/projects/p/locations/global/builds/b1:cancel',
      body: {name: 'projects/other/locations/global/builds/zzz', projectId: 'p', id: 'b1'},
      want: {method: 'CancelBuild', request: {name: 'projects/p/locations/global/builds/b1', projectId: 'p', id: 'b1'}},
    },
    {
      name: 'a nested path variable and a FieldMask and a bool from the query',
      verb: 'PATCH',
      url: '/v2/projects/p/locations/l/services/s?updateMask=labels,template.scaling&allowMissing=true&validateOnly=false',
      body: {labels: {a: 'b'}, ingress: 2},
      want: {
        method: 'UpdateService',
        request: {
          service: {name: 'projects/p/locations/l/services/s', labels: {a: 'b'}, ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY'},
          updateMask: {paths: ['labels', 'template.scaling']},
          allowMissing: true,
        },
      },
    },
    {
      name: 'enum names in the body; int64 as a string',
      verb: 'POST',
      url: '/v2/projects/p/locations/l/services?serviceId=hello',
      body: {ingress: 'INGRESS_TRAFFIC_ALL', template: {maxInstanceRequestConcurrency: 80, scaling: {maxInstanceCount: 3}}},
      want: {
        method: 'CreateService',
        request: {
          parent: 'projects/p/locations/l',
          serviceId: 'hello',
          service: {ingress: 'INGRESS_TRAFFIC_ALL', template: {maxInstanceRequestConcurrency: 80, scaling: {maxInstanceCount: 3}}},
        },
      },
    },
    {
      name: 'IAM: GET with a :verb and a nested query field',
      verb: 'GET',
      url: '/v2/projects/p/locations/l/services/s:getIamPolicy?options.requestedPolicyVersion=3',
      want: {method: 'GetIamPolicy', request: {resource: 'projects/p/locations/l/services/s', options: {requestedPolicyVersion: 3}}},
    },
    {
      name: 'IAM: bytes (base64) in the body',
      verb: 'POST',
      url: '/v2/projects/p/locations/l/services/s:setIamPolicy',
      body: {policy: {etag: 'AAE=', bindings: [{role: 'roles/run.invoker', members: ['allUsers']}]}},
      want: {
        method: 'SetIamPolicy',
        request: {
          resource: 'projects/p/locations/l/services/s',
          policy: {etag: Buffer.from([0, 1]), bindings: [{role: 'roles/run.invoker', members: ['allUsers']}]},
        },
      },
    },
    {
      name: 'operations/** spans segments',
      verb: 'GET',
      url: '/v1/operations/build/p/YWJj',
      want: {method: 'GetOperation', request: {name: 'operations/build/p/YWJj'}},
    },
    {
      name: 'a Timestamp and an enum from nested query parameters',
      verb: 'GET',
      url: '/v3/projects/p/timeSeries?filter=x&interval.startTime=2024-05-01T10:00:00Z&interval.endTime=2024-05-01T10:01:00.5Z&view=HEADERS',
      want: {
        method: 'ListTimeSeries',
        request: {
          name: 'projects/p',
          filter: 'x',
          interval: {startTime: {seconds: '1714557600'}, endTime: {seconds: '1714557660', nanos: 500000000}},
          view: 'HEADERS',
        },
      },
    },
    {
      name: 'enums by number in the query (enum-encoding=int), nested',
      verb: 'GET',
      url: '/v3/projects/p/timeSeries?aggregation.perSeriesAligner=1&aggregation.crossSeriesReducer=REDUCE_SUM&view=1&$alt=json%3Benum-encoding%3Dint',
      want: {
        method: 'ListTimeSeries',
        request: {name: 'projects/p', aggregation: {perSeriesAligner: 'ALIGN_DELTA', crossSeriesReducer: 'REDUCE_SUM'}, view: 'HEADERS'},
      },
    },
    {name: 'a path no rule has', verb: 'GET', url: '/v1/projects/p/nothing', want: undefined},
    {name: 'the right path under the wrong verb', verb: 'DELETE', url: '/v1/projects/p/builds/b1', want: undefined},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = transcode(c.verb, c.url, c.body);
      if (got && 'etag' in ((got.request.policy as object) ?? {})) {
        const policy = got.request.policy as {etag: Uint8Array};
        policy.etag = Buffer.from(policy.etag);
      }
      assert.deepEqual(got, c.want);
    });
  }

  const invalid = [
    {
      name: 'an unknown query parameter',
      verb: 'GET',
      url: '/v1/projects/p/builds?colour=red',
      message: /Unknown name "colour": Cannot bind query parameter/,
    },
    {
      name: 'a message-typed query parameter',
      verb: 'GET',
      url: '/v3/projects/p/timeSeries?interval=x',
      message: /Field 'interval' is a message/,
    },
    {name: 'a bad number', verb: 'GET', url: '/v1/projects/p/builds?pageSize=ten', message: /Invalid value at 'pageSize'/},
    {
      name: 'a bad bool',
      verb: 'PATCH',
      url: '/v2/projects/p/locations/l/services/s?allowMissing=yes',
      message: /Invalid value at 'allowMissing' \(TYPE_BOOL\)/,
    },
    {
      name: 'a body "*" that is not an object',
      verb: 'POST',
      url: '/v1/projects/p/builds/b:cancel',
      body: [1],
      message: /must be a JSON object/,
    },
    {
      name: 'a field the message does not have',
      verb: 'POST',
      url: '/v1/projects/p/builds',
      body: {stepz: []},
      message: /Unknown name "stepz" at 'build': Cannot find field/,
    },
    {
      name: 'a bad enum name',
      verb: 'POST',
      url: '/v2/projects/p/locations/l/services',
      body: {ingress: 'EVERYWHERE'},
      message: /Invalid value at 'service.ingress' \(type.googleapis.com\/google.cloud.run.v2.IngressTraffic\), "EVERYWHERE"/,
    },
  ];
  invalid.push({
    name: 'an enum number as a string in the body',
    verb: 'POST',
    url: '/v2/projects/p/locations/l/services',
    body: {ingress: '1'},
    message: /Invalid value at 'service.ingress'/,
  });
  invalid.push({
    name: 'an enum name it does not have in the query',
    verb: 'GET',
    url: '/v3/projects/p/timeSeries?view=ALL',
    message: /Invalid value at 'view'/,
  });
  for (const c of invalid) {
    it(`INVALID_ARGUMENT for ${c.name}`, () => {
      assert.throws(
        () => transcode(c.verb, c.url, c.body),
        (err: unknown) => err instanceof RpcError && err.code === Status.INVALID_ARGUMENT && c.message.test(err.message),
      );
    });
  }
});

describe('RPC response → proto3 JSON', () => {
  const root = protoRoot();
  it('camelCase names, int64 as strings, enum names, RFC 3339 times, durations, no empty maps or lists', () => {
    const build = root.lookupType('google.devtools.cloudbuild.v1.Build');
    const json = responseJson(build, {
      id: 'b1',
      status: 'SUCCESS',
      createTime: {seconds: '1714557600', nanos: 123000000},
      timeout: {seconds: '600'},
      substitutions: {},
      tags: [],
      results: {buildStepOutputs: [], images: [{name: 'i', digest: 'sha256:x', pushTiming: {startTime: {seconds: '1'}}}]},
      options: {machineType: 'E2_HIGHCPU_8', diskSizeGb: '100'},
    });
    assert.deepEqual(json, {
      id: 'b1',
      status: 'SUCCESS',
      createTime: '2024-05-01T10:00:00.123Z',
      timeout: '600s',
      results: {images: [{name: 'i', digest: 'sha256:x', pushTiming: {startTime: '1970-01-01T00:00:01Z'}}]},
      options: {machineType: 'E2_HIGHCPU_8', diskSizeGb: '100'},
    });
  });

  it('an operation with its metadata and response as Any with @type', () => {
    const operation = root.lookupType('google.longrunning.Operation');
    const service = root.lookupType('google.cloud.run.v2.Service');
    const packed = (value: object) => ({
      type_url: 'type.googleapis.com/google.cloud.run.v2.Service',
      value: Buffer.from(service.encode(service.fromObject(value)).finish()),
    });
    const json = responseJson(operation, {
      name: 'projects/p/locations/l/operations/o1',
      metadata: packed({name: 'projects/p/locations/l/services/s', generation: '2'}),
      done: true,
      response: packed({
        name: 'projects/p/locations/l/services/s',
        labels: {},
        reconciling: false,
        terminalCondition: {state: 'CONDITION_SUCCEEDED'},
      }),
    });
    assert.deepEqual(json, {
      name: 'projects/p/locations/l/operations/o1',
      metadata: {'@type': 'type.googleapis.com/google.cloud.run.v2.Service', name: 'projects/p/locations/l/services/s', generation: '2'},
      done: true,
      response: {
        '@type': 'type.googleapis.com/google.cloud.run.v2.Service',
        name: 'projects/p/locations/l/services/s',
        terminalCondition: {state: 'CONDITION_SUCCEEDED'},
      },
    });
  });

  it('a failed operation carries its google.rpc.Status', () => {
    const operation = root.lookupType('google.longrunning.Operation');
    assert.deepEqual(responseJson(operation, {name: 'o', done: true, error: {code: 9, message: 'not ready'}}), {
      name: 'o',
      done: true,
      error: {code: 9, message: 'not ready'},
    });
  });
});

describe('errors', () => {
  const cases = [
    {code: 3, http: 400, status: 'INVALID_ARGUMENT'},
    {code: 5, http: 404, status: 'NOT_FOUND'},
    {code: 6, http: 409, status: 'ALREADY_EXISTS'},
    {code: 7, http: 403, status: 'PERMISSION_DENIED'},
    {code: 9, http: 400, status: 'FAILED_PRECONDITION'},
    {code: 10, http: 409, status: 'ABORTED'},
    {code: 4, http: 504, status: 'DEADLINE_EXCEEDED'},
    {code: 8, http: 429, status: 'RESOURCE_EXHAUSTED'},
    {code: 13, http: 500, status: 'INTERNAL'},
    {code: 14, http: 503, status: 'UNAVAILABLE'},
    {code: 16, http: 401, status: 'UNAUTHENTICATED'},
  ];
  for (const c of cases) {
    it(`code ${c.code} is HTTP ${c.http} ${c.status}`, () => {
      assert.equal(httpStatusOf(c.code), c.http);
      assert.deepEqual(errorJson(new RpcError(c.code, 'why')), {error: {code: c.http, message: 'why', status: c.status, details: []}});
    });
  }
});
