// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The Models system module (native precompile) of OpenLedger.
address constant MODELS_ADDRESS = 0x4f50454E00000000000000000000000000000002;

/// @title IModels
/// @notice ModelFactory records: what a model was trained on, its artifacts, who serves it
/// (the provider signs inference receipts), its fee floor and the owner's share of each fee.
/// @custom:address 0x4f50454e00000000000000000000000000000002
interface IModels {
    /// @notice A published datanet version a model was trained on.
    struct DatanetRef {
        uint256 datanetId;
        uint64 version;
    }

    struct ModelRegistration {
        string name;
        string baseModel;
        /// @notice 0 for an original model, else the parent of this derivative.
        uint256 parentId;
        DatanetRef[] datanets;
        bytes32 trainingConfigHash;
        bytes32 trainingLogHash;
        bytes32 artifactHash;
        string artifactURI;
        address provider;
        uint256 minFeePerInference;
        uint16 ownerShareBps;
    }

    struct ModelVersionInput {
        DatanetRef[] datanets;
        bytes32 trainingConfigHash;
        bytes32 trainingLogHash;
        bytes32 artifactHash;
        string artifactURI;
    }

    /// @notice How a model version was trained, so that anyone can re-run the training from chain
    /// data and compare the artifact hash (ModelFactory; see docs/modelfactory.md).
    struct TrainingSpec {
        /// @notice 1 = base model pre-trained from scratch, 2 = LoRA adapter over a base model.
        uint8 kind;
        /// @notice The registered base model an adapter adapts (0 for a base model).
        uint256 baseModelId;
        /// @notice LoRA rank r and scaling numerator alpha (the update is alpha/r · B·A); 0 for a base model.
        uint16 rank;
        uint16 alpha;
        uint32 steps;
        uint64 seed;
        /// @notice The training config file itself: keccak256(config) must equal trainingConfigHash.
        /// Kept in the call data and the TrainingSpecRecorded event, not in storage.
        bytes config;
    }

    struct TrainingSpecInfo {
        uint8 kind;
        uint256 baseModelId;
        uint16 rank;
        uint16 alpha;
        uint32 steps;
        uint64 seed;
    }

    /// @notice A base model: trained on a public corpus named by its training config, not on datanets.
    struct BaseModelRegistration {
        string name;
        /// @notice Architecture label, e.g. "ol-tfm-v1/tiny".
        string baseModel;
        bytes32 trainingConfigHash;
        bytes32 trainingLogHash;
        bytes32 artifactHash;
        string artifactURI;
        uint32 steps;
        uint64 seed;
        bytes config;
    }

    struct ModelInfo {
        uint256 id;
        address owner;
        string name;
        string baseModel;
        uint256 parentId;
        uint8 depth;
        address provider;
        uint256 minFeePerInference;
        uint16 ownerShareBps;
        uint32 versionCount;
        uint64 createdAtBlock;
    }

    /// @notice A model's terms for derivatives, and the royalty it pays its own parent (share of its
    /// owner part, fixed when it was registered from the parent's terms).
    struct ModelTerms {
        bool derivativesAllowed;
        uint16 derivativeRoyaltyBps;
        uint16 parentRoyaltyBps;
    }

    struct ModelVersionInfo {
        uint256 modelId;
        uint32 version;
        bytes32 trainingConfigHash;
        bytes32 trainingLogHash;
        bytes32 artifactHash;
        string artifactURI;
        DatanetRef[] datanets;
        uint64 publishedAtBlock;
    }

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        uint256 indexed parentId,
        string name,
        string baseModel,
        address provider,
        uint256 minFeePerInference,
        uint16 ownerShareBps
    );
    event ModelVersionPublished(
        uint256 indexed modelId,
        uint32 indexed version,
        bytes32 artifactHash,
        string artifactURI,
        bytes32 trainingConfigHash,
        bytes32 trainingLogHash,
        DatanetRef[] datanets
    );
    event TrainingSpecRecorded(
        uint256 indexed modelId,
        uint32 indexed version,
        uint256 indexed baseModelId,
        uint8 kind,
        uint16 rank,
        uint16 alpha,
        uint32 steps,
        uint64 seed,
        bytes config
    );
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);
    event ProviderUpdated(uint256 indexed modelId, address indexed previousProvider, address indexed newProvider);
    event MinFeeUpdated(uint256 indexed modelId, uint256 previousMinFee, uint256 newMinFee);
    event DerivativeTermsSet(uint256 indexed modelId, bool allowed, uint16 royaltyBps);

    error WriteProtection();
    error NonPayable(uint256 value);
    error UnknownSelector(bytes4 selector);
    error MalformedCalldata();
    error StringTooLong(uint256 length, uint256 maxLength);
    error TooManyItems(uint256 count, uint256 max);
    error ZeroAddress();
    error ModelNotFound(uint256 modelId);
    error ModelVersionNotFound(uint256 modelId, uint32 version);
    error NotModelOwner(uint256 modelId, address caller);
    error OwnerShareOutOfBounds(uint16 ownerShareBps, uint16 minBps, uint16 maxBps);
    error DatanetVersionNotFound(uint256 datanetId, uint64 version);
    error DuplicateDatanetVersion(uint256 datanetId, uint64 version);
    error NoTrainingData();
    error LineageTooDeep(uint256 parentId, uint8 maxDepth);
    /// @notice The parent's owner has not allowed derivatives (setDerivativeTerms).
    error DerivativesNotAllowed(uint256 parentId);
    /// @notice The datanet's licence admits only allow-listed model owners.
    error LicenceForbids(uint256 datanetId, address modelOwner);
    /// @notice The model would leave the datanet's contributors less than its licence requires.
    error RoyaltyBelowLicence(uint256 datanetId, uint16 contributorsBps, uint16 minContributorsBps);
    error InvalidRoyalty(uint16 royaltyBps);
    error ConfigHashMismatch(bytes32 registered, bytes32 actual);
    error NotABaseModel(uint256 modelId);
    error BadTrainingSpec();

    /// @notice Registers a model owned by msg.sender, with version 1 described by the registration.
    /// Each training datanet's licence must admit msg.sender and the model's contributors part; a
    /// derivative (parentId != 0) needs the parent to allow derivatives (or the same owner) and pays
    /// the parent's derivative royalty.
    function registerModel(ModelRegistration calldata registration) external returns (uint256 modelId);
    /// @notice Registers a base model (version 1, no training datanets) owned by msg.sender, who is
    /// also its provider; its config bytes are checked against trainingConfigHash.
    function registerBaseModel(BaseModelRegistration calldata registration) external returns (uint256 modelId);
    /// @notice Registers a LoRA adapter as registerModel does, with its training spec: spec.kind = 2,
    /// spec.baseModelId a registered base model and the registration's parentId equal to it (the
    /// base model's owner earns the parent royalty), keccak256(spec.config) = trainingConfigHash.
    function registerAdapter(ModelRegistration calldata registration, TrainingSpec calldata spec)
        external
        returns (uint256 modelId);
    function publishModelVersion(uint256 modelId, ModelVersionInput calldata input) external returns (uint32 version);
    function transferModelOwnership(uint256 modelId, address newOwner) external;
    function setProvider(uint256 modelId, address provider) external;
    function setMinFee(uint256 modelId, uint256 minFeePerInference) external;
    /// @notice Owner only: whether others may register derivatives of this model, and the share of
    /// a derivative's owner part paid to this model's owner (fixed into each derivative at its
    /// registration). Derivatives are not allowed until the owner says so.
    function setDerivativeTerms(uint256 modelId, bool allowed, uint16 royaltyBps) external;
    function getModelTerms(uint256 modelId) external view returns (ModelTerms memory);

    function modelCount() external view returns (uint256);
    function getModel(uint256 modelId) external view returns (ModelInfo memory);
    function getModelVersion(uint256 modelId, uint32 version) external view returns (ModelVersionInfo memory);
    /// @notice The training spec of a model version (kind 0 when none was recorded).
    function getTrainingSpec(uint256 modelId, uint32 version) external view returns (TrainingSpecInfo memory);
    function isTrainedOn(uint256 modelId, uint32 modelVersion, uint256 datanetId, uint64 datanetVersion)
        external
        view
        returns (bool);
}
