// Argus on Azure: Azure SQL, a storage account (alert queue + batch blob container), Key Vault, and one
// Container App per process, all running the same image (deploy/Dockerfile) with a different argument.
// Temporal is not deployed here: point temporalAddress at a Temporal cluster or Temporal Cloud.
//
//   az deployment group create -g argus-rg -f deploy/azure/main.bicep -p deploy/azure/main.parameters.json \
//     -p sqlAdminPassword=... argusApiKey=... temporalApiKey=... sendGridApiKey=...
//
// Secrets: every secret is a @secure() parameter or derived in the template (storage key), written to Key
// Vault, and read by the Container Apps through their user-assigned managed identity (Key Vault references);
// none is a plain app setting. The app reaches SQL and Storage with connection strings (what its SDK clients
// take), so those two live in Key Vault too.

targetScope = 'resourceGroup'

@description('Short name used in every resource name (letters and digits).')
@minLength(3)
@maxLength(12)
param namePrefix string = 'argus'

param location string = resourceGroup().location

@description('The Argus image, e.g. myregistry.azurecr.io/argus:1.2.3 (built from deploy/Dockerfile).')
param image string

@description('Registry server to pull the image from with the managed identity (grant identityPrincipalId AcrPull on it first); empty for a public image.')
param registryServer string = ''

@description('Temporal frontend: host:port of a cluster, or <namespace>.<account>.tmprl.cloud:7233 / <region>.<cloud>.api.temporal.io:7233 for Temporal Cloud.')
param temporalAddress string

param temporalNamespace string = 'default'

@secure()
@description('Temporal Cloud API key; leave empty for mTLS or an unauthenticated cluster.')
param temporalApiKey string = ''

@secure()
@description('Temporal mTLS client certificate (PEM); leave empty for an API key or no TLS.')
param temporalTlsCert string = ''

@secure()
@description('Temporal mTLS client key (PEM), with temporalTlsCert.')
param temporalTlsKey string = ''

param sqlAdminLogin string = 'argusadmin'

@secure()
param sqlAdminPassword string

@description('Azure SQL database SKU (S0 for a small start; GP_S_Gen5_1 for serverless).')
param sqlSkuName string = 'S0'

@secure()
@description('The gateway key (ARGUS_API_KEY). The gateway listens publicly and refuses to start without a key.')
param argusApiKey string

@secure()
@description('Optional per-tenant keys, tenant=key,tenant=key (ARGUS_TENANT_KEYS).')
param argusTenantKeys string = ''

@secure()
@description('SendGrid API key for alert emails.')
param sendGridApiKey string

@secure()
@description('Payload encryption keys for Temporal history, id:base64key[,id:base64key] (ARGUS_CODEC_KEYS); every client and worker needs the same. Leave empty to store payloads in clear.')
param argusCodecKeys string = ''

param alertEmailTo string = 'finance-alerts@example.com'
param alertEmailFrom string = 'argus@example.com'

@description('Replicas of the single-transaction worker (task queue argus).')
@minValue(1)
param workerMinReplicas int = 2
@minValue(1)
param workerMaxReplicas int = 10

@description('Replicas of the CSV batch worker (task queue argus-batch).')
@minValue(0)
param batchWorkerMinReplicas int = 1
@minValue(1)
param batchWorkerMaxReplicas int = 4

@description('Replicas of the model training worker (task queue argus-training).')
@minValue(0)
param trainingWorkerMinReplicas int = 1
@minValue(1)
param trainingWorkerMaxReplicas int = 4

@minValue(1)
param gatewayMinReplicas int = 2
@minValue(1)
param gatewayMaxReplicas int = 10

var suffix = uniqueString(resourceGroup().id, namePrefix)
var alertQueueName = 'anomaly-alerts'
var batchContainerName = 'argus-batches'
var useTemporalTls = !empty(temporalTlsCert) && !empty(temporalTlsKey)
// Key Vault Secrets User: read secret values, nothing else.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
// Every process serves Prometheus /metrics on this port (ARGUS_METRICS_PORT). Container Apps has no Prometheus
// discovery of its own and no per-replica port to scrape from outside, so it listens on loopback for a
// collector running beside it in the same replica (a sidecar container; see the README's "Metrics on Container Apps").
var metricsPort = 9464

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-id-${suffix}'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

// ── storage: the alert queue (and its poison queue) and the batch blob container ──

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(toLower('${namePrefix}st${suffix}'), 24)
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    // The app's queue and blob clients are built from a connection string (AZURE_STORAGE_CONNECTION_STRING).
    allowSharedKeyAccess: true
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource alertQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: alertQueueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${alertQueueName}-poison'
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource batchContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: batchContainerName
  properties: {
    publicAccess: 'None'
  }
}

// ── Azure SQL ──

resource sqlServer 'Microsoft.Sql/servers@2023-08-01' = {
  name: '${namePrefix}-sql-${suffix}'
  location: location
  properties: {
    administratorLogin: sqlAdminLogin
    administratorLoginPassword: sqlAdminPassword
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// 0.0.0.0 to 0.0.0.0 is Azure's rule for "services inside Azure", which Container Apps without a VNet are.
resource sqlAllowAzure 'Microsoft.Sql/servers/firewallRules@2023-08-01' = {
  parent: sqlServer
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource sqlDatabase 'Microsoft.Sql/servers/databases@2023-08-01' = {
  parent: sqlServer
  name: 'argus'
  location: location
  sku: { name: sqlSkuName }
}

// ── Key Vault: every secret the processes read ──

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${namePrefix}-kv-${suffix}', 24)
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

// Names known when the deployment starts (they depend on parameters only), so they can drive loops.
var secretNames = concat(
  ['sql-connection-string', 'storage-connection-string', 'sendgrid-api-key', 'argus-api-key'],
  empty(argusTenantKeys) ? [] : ['argus-tenant-keys'],
  empty(temporalApiKey) ? [] : ['temporal-api-key'],
  empty(argusCodecKeys) ? [] : ['argus-codec-keys'],
  useTemporalTls ? ['temporal-tls-cert', 'temporal-tls-key'] : []
)

resource sqlConnectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'sql-connection-string'
  properties: {
    value: 'Server=tcp:${sqlServer.properties.fullyQualifiedDomainName},1433;Database=${sqlDatabase.name};User Id=${sqlAdminLogin};Password=${sqlAdminPassword};Encrypt=true;TrustServerCertificate=false;Connection Timeout=30'
  }
}

resource storageConnectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'storage-connection-string'
  properties: {
    value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
  }
}

resource sendGridSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'sendgrid-api-key'
  properties: { value: sendGridApiKey }
}

resource apiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'argus-api-key'
  properties: { value: argusApiKey }
}

resource tenantKeysSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(argusTenantKeys)) {
  parent: vault
  name: 'argus-tenant-keys'
  properties: { value: argusTenantKeys }
}

resource temporalApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(temporalApiKey)) {
  parent: vault
  name: 'temporal-api-key'
  properties: { value: temporalApiKey }
}

resource codecKeysSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(argusCodecKeys)) {
  parent: vault
  name: 'argus-codec-keys'
  properties: { value: argusCodecKeys }
}

resource temporalCertSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (useTemporalTls) {
  parent: vault
  name: 'temporal-tls-cert'
  properties: { value: temporalTlsCert }
}

resource temporalKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (useTemporalTls) {
  parent: vault
  name: 'temporal-tls-key'
  properties: { value: temporalTlsKey }
}

resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, identity.id, keyVaultSecretsUserRoleId)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
  }
}

// ── Container Apps: one per process, the same image ──

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env-${suffix}'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

// Container Apps secrets: Key Vault references resolved with the managed identity.
var appSecrets = [
  for name in secretNames: {
    name: name
    keyVaultUrl: '${vault.properties.vaultUri}secrets/${name}'
    identity: identity.id
  }
]

var commonEnv = concat(
  [
    { name: 'LOG_FORMAT', value: 'json' }
    { name: 'ARGUS_METRICS_HOST', value: '127.0.0.1' }
    { name: 'ARGUS_METRICS_PORT', value: string(metricsPort) }
    { name: 'TEMPORAL_ADDRESS', value: temporalAddress }
    { name: 'TEMPORAL_NAMESPACE', value: temporalNamespace }
    { name: 'ARGUS_ALERT_QUEUE', value: alertQueueName }
    { name: 'ARGUS_BATCH_CONTAINER', value: batchContainerName }
    { name: 'ARGUS_ALERT_EMAIL_TO', value: alertEmailTo }
    { name: 'ARGUS_ALERT_EMAIL_FROM', value: alertEmailFrom }
    { name: 'SQL_CONNECTION_STRING', secretRef: 'sql-connection-string' }
    { name: 'AZURE_STORAGE_CONNECTION_STRING', secretRef: 'storage-connection-string' }
  ],
  empty(temporalApiKey) ? [] : [{ name: 'TEMPORAL_API_KEY', secretRef: 'temporal-api-key' }],
  empty(argusCodecKeys) ? [] : [{ name: 'ARGUS_CODEC_KEYS', secretRef: 'argus-codec-keys' }],
  useTemporalTls
    ? [
        { name: 'TEMPORAL_TLS_CERT_PATH', value: '/mnt/temporal/tls.crt' }
        { name: 'TEMPORAL_TLS_KEY_PATH', value: '/mnt/temporal/tls.key' }
      ]
    : []
)

// mTLS: the certificate pair as files, from Key Vault through the app's secrets.
var temporalVolumes = useTemporalTls
  ? [
      {
        name: 'temporal-tls'
        storageType: 'Secret'
        secrets: [
          { secretRef: 'temporal-tls-cert', path: 'tls.crt' }
          { secretRef: 'temporal-tls-key', path: 'tls.key' }
        ]
      }
    ]
  : []
var temporalMounts = useTemporalTls ? [{ volumeName: 'temporal-tls', mountPath: '/mnt/temporal' }] : []

var registries = empty(registryServer) ? [] : [{ server: registryServer, identity: identity.id }]

// Workers scale on CPU (their work is CPU-bound and pulled from Temporal, so they have no HTTP traffic);
// the dispatcher on the alert queue's length; the gateway on concurrent requests.
var processes = [
  {
    name: 'worker'
    cpu: '0.5'
    memory: '1Gi'
    minReplicas: workerMinReplicas
    maxReplicas: workerMaxReplicas
    env: []
    rules: [{ name: 'cpu', custom: { type: 'cpu', metadata: { type: 'Utilization', value: '70' } } }]
  }
  {
    name: 'batch-worker'
    cpu: '1.0'
    memory: '2Gi'
    minReplicas: batchWorkerMinReplicas
    maxReplicas: batchWorkerMaxReplicas
    env: []
    rules: [{ name: 'cpu', custom: { type: 'cpu', metadata: { type: 'Utilization', value: '70' } } }]
  }
  {
    name: 'training-worker'
    cpu: '1.0'
    memory: '2Gi'
    minReplicas: trainingWorkerMinReplicas
    maxReplicas: trainingWorkerMaxReplicas
    env: [{ name: 'ARGUS_MODEL_THREADS', value: '1' }]
    rules: [{ name: 'cpu', custom: { type: 'cpu', metadata: { type: 'Utilization', value: '70' } } }]
  }
  {
    name: 'dispatcher'
    cpu: '0.25'
    memory: '0.5Gi'
    minReplicas: 1
    maxReplicas: 3
    env: [{ name: 'SENDGRID_API_KEY', secretRef: 'sendgrid-api-key' }]
    rules: [
      {
        name: 'alert-queue'
        azureQueue: {
          queueName: alertQueueName
          queueLength: 20
          auth: [{ secretRef: 'storage-connection-string', triggerParameter: 'connection' }]
        }
      }
    ]
  }
]

resource workerApps 'Microsoft.App/containerApps@2024-03-01' = [
  for process in processes: {
    name: '${namePrefix}-${process.name}'
    location: location
    identity: {
      type: 'UserAssigned'
      userAssignedIdentities: { '${identity.id}': {} }
    }
    properties: {
      managedEnvironmentId: environment.id
      configuration: {
        activeRevisionsMode: 'Single'
        secrets: appSecrets
        registries: registries
      }
      template: {
        containers: [
          {
            name: process.name
            image: image
            args: [process.name]
            env: concat(commonEnv, process.env)
            resources: { cpu: json(process.cpu), memory: process.memory }
            volumeMounts: temporalMounts
          }
        ]
        // Time to finish running activities on a scale-in; what is cut off, Temporal retries on another replica.
        terminationGracePeriodSeconds: 60
        scale: {
          minReplicas: process.minReplicas
          maxReplicas: process.maxReplicas
          rules: process.rules
        }
        volumes: temporalVolumes
      }
    }
    dependsOn: [vaultReader, sqlConnectionSecret, storageConnectionSecret, sendGridSecret, tenantKeysSecret, temporalApiKeySecret, codecKeysSecret, temporalCertSecret, temporalKeySecret, sqlAllowAzure, alertQueue, poisonQueue, batchContainer]
  }
]

resource gateway 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-gateway'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: appSecrets
      registries: registries
      ingress: {
        external: true
        targetPort: 8080
        transport: 'http'
        allowInsecure: false
      }
    }
    template: {
      containers: [
        {
          name: 'gateway'
          image: image
          args: ['gateway']
          env: concat(
            commonEnv,
            [
              { name: 'ARGUS_HTTP_HOST', value: '0.0.0.0' }
              { name: 'ARGUS_HTTP_PORT', value: '8080' }
              { name: 'ARGUS_API_KEY', secretRef: 'argus-api-key' }
            ],
            empty(argusTenantKeys) ? [] : [{ name: 'ARGUS_TENANT_KEYS', secretRef: 'argus-tenant-keys' }]
          )
          resources: { cpu: json('0.5'), memory: '1Gi' }
          volumeMounts: temporalMounts
          probes: [
            { type: 'Liveness', httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 }
            { type: 'Readiness', httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 10, timeoutSeconds: 5 }
          ]
        }
      ]
      scale: {
        minReplicas: gatewayMinReplicas
        maxReplicas: gatewayMaxReplicas
        rules: [{ name: 'http', http: { metadata: { concurrentRequests: '50' } } }]
      }
      volumes: temporalVolumes
    }
  }
  dependsOn: [vaultReader, sqlConnectionSecret, storageConnectionSecret, apiKeySecret, tenantKeysSecret, temporalApiKeySecret, codecKeysSecret, temporalCertSecret, temporalKeySecret, sqlAllowAzure, alertQueue, poisonQueue, batchContainer]
}

output gatewayUrl string = 'https://${gateway.properties.configuration.ingress.fqdn}'
output identityPrincipalId string = identity.properties.principalId
output keyVaultName string = vault.name
